// concur-scim console: the live provisioning grid and the extension message panel.
// Served from the package (no CDN); the pages work without it, this only adds refresh.
"use strict";

function showDetail(button) {
  const panel = document.getElementById("detail");
  if (!panel) return;
  document.getElementById("detail-title").textContent = button.dataset.title || "";
  document.getElementById("detail-body").textContent = button.dataset.body || "";
  panel.hidden = false;
  panel.scrollIntoView({ block: "nearest" });
}

document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  const open = target.closest("button.open");
  if (open) { showDetail(open); return; }
  if (target.closest("#detail .close")) document.getElementById("detail").hidden = true;
});

// While a request is pending, its grid is fetched again every second (the server renders
// it: the same escaped HTML as the first page load) until the request has completed. Only a
// grid replaces the grid: a redirect (the session ended) or a refusal (the request is gone)
// stops the refresh and says so, rather than drawing another page inside this one.
function watchGrid() {
  const grid = document.getElementById("grid");
  if (!grid || grid.dataset.live !== "yes") return;
  const stop = (why) => {
    grid.dataset.live = "no";
    const note = document.createElement("p");
    note.className = "error";
    note.setAttribute("role", "alert");
    note.textContent = why;
    grid.prepend(note);
  };
  const refresh = async () => {
    let answer;
    try {
      answer = await fetch(grid.dataset.source, {
        credentials: "same-origin", cache: "no-store", redirect: "manual",
      });
    } catch (error) {
      setTimeout(refresh, 1000); // the server may be restarting: try again
      return;
    }
    const state = answer.headers.get("X-Provision-State");
    if (answer.type === "opaqueredirect") {
      stop("Live refresh stopped: the session has ended. Reload the page to sign in.");
      return;
    }
    if (!answer.ok || state === null) {
      if (answer.status >= 400 && answer.status < 500) {
        stop(`Live refresh stopped: the server answered ${answer.status}. Reload the page.`);
        return;
      }
      setTimeout(refresh, 1000);
      return;
    }
    grid.innerHTML = await answer.text();
    if (state !== "pending") {
      grid.dataset.live = "no";
      return;
    }
    setTimeout(refresh, 1000);
  };
  setTimeout(refresh, 1000);
}

document.addEventListener("DOMContentLoaded", watchGrid);
