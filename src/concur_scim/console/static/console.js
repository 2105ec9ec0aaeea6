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
// it: the same escaped HTML as the first page load) until the request has completed.
function watchGrid() {
  const grid = document.getElementById("grid");
  if (!grid || grid.dataset.live !== "yes") return;
  const refresh = async () => {
    try {
      const answer = await fetch(grid.dataset.source, { credentials: "same-origin", cache: "no-store" });
      if (answer.ok) {
        grid.innerHTML = await answer.text();
        if (answer.headers.get("X-Provision-State") !== "pending") {
          grid.dataset.live = "no";
          return;
        }
      }
    } catch (error) {
      // The server may be restarting: try again at the next tick.
    }
    setTimeout(refresh, 1000);
  };
  setTimeout(refresh, 1000);
}

document.addEventListener("DOMContentLoaded", watchGrid);
