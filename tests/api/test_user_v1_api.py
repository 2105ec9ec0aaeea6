"""Concur User v1.0 (reference/concur-user-v1.md §7 test vectors) on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring
from fastapi.testclient import TestClient

from concur_scim.services import extensions
from concur_scim.services.common import system_clock
from concur_scim.store.db import unit_of_work

NS = "http://www.concursolutions.com/api/user/2011/02"
Q = f"{{{NS}}}"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
XML_HEADERS = {"Content-Type": "application/xml"}
SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
SPEND_ROLE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
SPEND_APPROVER = "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def profile(emp: str, login: str, feed: int = 1, **extra: str) -> str:
    """A UserProfile with the fields every create needs, plus ``extra`` elements."""
    fields = {
        "EmpId": emp,
        "FeedRecordNumber": str(feed),
        "LoginId": login,
        "Password": "Pw-1",
        "LedgerKey": "DEFAULT",
        "LocaleName": "en_US",
        "CtryCode": "US",
        "CrnKey": "USD",
        **extra,
    }
    inner = "".join(f"<{k}>{v}</{k}>" if v is not None else f"<{k}/>" for k, v in fields.items())
    return f"<UserProfile>{inner}</UserProfile>"


def batch(*profiles: str) -> str:
    """A v1.0 batch document of ``profiles``."""
    return f'<batch xmlns="{NS}">{"".join(profiles)}</batch>'


def post(client: TestClient, body: str | bytes, **headers: str) -> Any:
    """POST a batch and return the response."""
    return client.post("/api/user/v1.0/users", content=body, headers={**XML_HEADERS, **headers})


def result(response: Any) -> Element:
    """The parsed user-batch-result of a 200 response."""
    assert response.status_code == 200, response.text
    root: Element = fromstring(response.content)
    assert root.tag == f"{Q}user-batch-result"
    return root


def messages(root: Element) -> list[str]:
    """The error messages of a user-batch-result, in order."""
    return [e.findtext(f"{Q}message") or "" for e in root.iter(f"{Q}error")]


def counts(root: Element) -> tuple[int, int]:
    """(records-succeeded, records-failed)."""
    ok = int(root.findtext(f"{Q}records-succeeded") or -1)
    failed = int(root.findtext(f"{Q}records-failed") or -1)
    return ok, failed


def scim_user(client: TestClient, login: str) -> dict[str, Any]:
    """The generic SCIM view of the user with userName ``login``."""
    found = client.get("/scim/v2/Users", params={"filter": f'userName eq "{login}"'}).json()
    assert found["totalResults"] == 1, found
    user: dict[str, Any] = found["Resources"][0]
    return user


def v1_get(client: TestClient, login: str, **headers: str) -> Any:
    """GET /api/user/v1.0/user?loginID=<login>."""
    return client.get("/api/user/v1.0/user", params={"loginID": login}, headers=headers)


def v1_fields(client: TestClient, login: str) -> dict[str, str]:
    """The JSON GET user fields of ``login``."""
    response = v1_get(client, login, Accept="application/json")
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def test_two_user_batch_with_a_missing_required_field(client: TestClient) -> None:
    """A [C15]-shaped two-user batch whose second record lacks Password: one success, one error."""
    second = profile("E1002", "b@example.com", 2).replace("<Password>Pw-1</Password>", "")
    root = result(post(client, batch(profile("E1001", "a@example.com", 1), second)))
    assert counts(root) == (1, 1)
    assert messages(root) == ["Missing Required Field: Password"]
    error = next(root.iter(f"{Q}error"))
    assert error.findtext(f"{Q}EmployeeID") == "E1002"
    assert error.findtext(f"{Q}FeedRecordNumber") == "2"
    info = next(root.iter(f"{Q}UserInfo"))
    assert info.findtext(f"{Q}EmployeeID") == "E1001"
    assert info.findtext(f"{Q}Status") == "SUCCESS"
    assert root.find(f"{Q}UsersDetails") is not None


def test_response_is_byte_shaped_like_the_live_api(client: TestClient) -> None:
    """The batch result has no declaration, no line breaks and the §3.2 element order."""
    response = post(client, batch(profile("E1", "one@example.com")))
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == (
        f'<user-batch-result xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        "<records-succeeded>1</records-succeeded><records-failed>0</records-failed><errors/>"
        "<UsersDetails><UserInfo><EmployeeID>E1</EmployeeID><FeedRecordNumber>1"
        "</FeedRecordNumber><Status>SUCCESS</Status></UserInfo></UsersDetails>"
        "</user-batch-result>"
    )


def test_rename_without_password_fails_like_issue_2897(client: TestClient) -> None:
    """The [I2897] rename (EmpId, FeedRecordNumber, LoginId, NewLoginID) fails on Password."""
    result(post(client, batch(profile("E77", "old@example.com"))))
    body = batch(
        "<UserProfile><EmpId>E77</EmpId><FeedRecordNumber>0</FeedRecordNumber>"
        "<LoginId>old@example.com</LoginId><NewLoginID>new@example.com</NewLoginID></UserProfile>"
    )
    root = result(post(client, body))
    assert counts(root) == (0, 1)
    assert messages(root) == ["Missing Required Field: Password"]
    assert root.find(f"{Q}UsersDetails") is not None
    assert scim_user(client, "old@example.com")["userName"] == "old@example.com"


def test_rename_with_new_login_id(client: TestClient) -> None:
    """NewLoginID with an empty Password renames the user's userName."""
    result(post(client, batch(profile("E78", "before@example.com"))))
    body = batch(
        "<UserProfile><EmpId>E78</EmpId><FeedRecordNumber>1</FeedRecordNumber>"
        "<LoginId>before@example.com</LoginId><Password/>"
        "<NewLoginID>after@example.com</NewLoginID></UserProfile>"
    )
    assert counts(result(post(client, body))) == (1, 0)
    assert scim_user(client, "after@example.com")[ENTERPRISE]["employeeNumber"] == "E78"


def test_disable_then_get_shows_inactive_everywhere(client: TestClient) -> None:
    """Active N deactivates: GET shows Active N and SCIM shows active false; nothing deleted."""
    result(post(client, (SAMPLES / "pingfederate_user_v1_create.xml").read_bytes()))
    login = "grace.hopper@example.com"
    assert v1_fields(client, login)["Active"] == "Y"
    root = result(post(client, (SAMPLES / "pingfederate_user_v1_disable.xml").read_bytes()))
    assert counts(root) == (1, 0)
    assert v1_fields(client, login)["Active"] == "N"
    user = scim_user(client, login)
    assert user["active"] is False
    identity = client.get(f"/profile/identity/v4/Users/{user['id']}").json()
    assert identity["active"] is False
    assert v1_fields(client, login)["FirstName"] == "Grace"


def test_approver_listed_after_its_user_fails(client: TestClient) -> None:
    """An approver that comes later in the batch is not found for the user before it."""
    user = profile("U1", "u1@example.com", 1, ExpenseApproverEmployeeID="A1")
    root = result(post(client, batch(user, profile("A1", "a1@example.com", 2))))
    assert counts(root) == (1, 1)
    assert messages(root) == ["Invalid Input: ExpenseApproverEmployeeID"]


def test_approver_listed_before_its_user_succeeds(client: TestClient) -> None:
    """An approver earlier in the batch resolves, and lands in the spend Approver extension."""
    user = profile("U2", "u2@example.com", 2, ExpenseApproverEmployeeID="A2")
    root = result(post(client, batch(profile("A2", "a2@example.com", 1), user)))
    assert counts(root) == (2, 0)
    assert v1_fields(client, "u2@example.com")["ExpenseApproverEmployeeID"] == "A2"
    user_id = scim_user(client, "u2@example.com")["id"]
    approver_id = scim_user(client, "a2@example.com")["id"]
    spend = client.get(f"/profile/spend/v4.1/Users/{user_id}").json()
    assert spend[SPEND_APPROVER]["report"] == [
        {"approver": {"value": approver_id, "employeeNumber": "A2"}, "primary": True}
    ]


@pytest.mark.parametrize("records", [0, 501])
def test_zero_or_too_many_records_is_400(client: TestClient, records: int) -> None:
    """A batch of 0 or more than 500 records is refused as a whole with HTTP 400."""
    body = batch(*(profile(f"E{n}", f"u{n}@example.com", n) for n in range(records)))
    response = post(client, body)
    assert response.status_code == 400
    root = fromstring(response.content)
    assert root.tag == "Error"
    expected = "Maximum User Records per Batch Exceeded" if records else "Missing Required"
    assert (root.findtext("Message") or "").startswith(expected)
    assert client.get("/scim/v2/Users").json()["totalResults"] == 0


def test_missing_authorization_is_401(client: TestClient) -> None:
    """No Authorization header: 401 with the legacy Error body."""
    response = client.post(
        "/api/user/v1.0/users",
        content=batch(profile("E1", "a@example.com")),
        headers={"Authorization": ""},
    )
    assert response.status_code == 401
    assert fromstring(response.content).tag == "Error"


@pytest.mark.parametrize("header", ["OAuth wrong-token", "Bearer wrong-token", "Basic x"])
def test_bad_token_is_403(client: TestClient, header: str) -> None:
    """A header with an unknown token (or an unknown scheme) is 403."""
    response = post(client, batch(profile("E1", "a@example.com")), Authorization=header)
    assert response.status_code == 403
    assert fromstring(response.content).findtext("Message") == "Invalid or expired token."


def test_oauth_scheme_is_accepted(client: TestClient) -> None:
    """``Authorization: OAuth <token>`` maps to the same company token as Bearer."""
    response = post(client, batch(profile("E1", "a@example.com")), Authorization="OAuth test-token")
    assert counts(result(response)) == (1, 0)
    assert scim_user(client, "a@example.com")["userName"] == "a@example.com"


def test_get_by_url_encoded_login_id(client: TestClient) -> None:
    """``?loginID=a%2Bb%40x.com`` finds the user a+b@x.com; a raw '+' does too."""
    result(post(client, batch(profile("E5", "a+b@x.com"))))
    encoded = client.get("/api/user/v1.0/user?loginID=a%2Bb%40x.com")
    assert encoded.status_code == 200
    root = fromstring(encoded.content)
    assert root.tag == f"{Q}UserProfile"
    assert root.findtext(f"{Q}LoginId") == "a+b@x.com"
    raw = client.get("/api/user/v1.0/User/?LOGINID=a+b@x.com")
    assert raw.status_code == 200


def test_get_user_xml_is_alphabetical_with_47_elements(client: TestClient) -> None:
    """The XML GET has the 47 §3.3 elements in alphabetical order and never a Password."""
    result(post(client, batch(profile("E6", "six@example.com"))))
    root = fromstring(v1_get(client, "six@example.com").content)
    names = [child.tag.removeprefix(Q) for child in root]
    assert len(names) == 47
    assert names == sorted(names)
    assert "Password" not in names


def test_get_user_json_when_asked(client: TestClient) -> None:
    """``Accept: application/json`` gives the flat SDK-ordered JSON object of strings."""
    result(post(client, batch(profile("E7", "seven@example.com", FirstName="Ada"))))
    body = v1_fields(client, "seven@example.com")
    assert list(body)[:3] == ["LoginId", "EmpId", "LocaleName"]
    assert len(body) == 47
    assert body["FirstName"] == "Ada"
    assert body["LocaleName"] == "en_US"
    assert body["OrgUnit2"] == ""


def test_get_unknown_login_is_404(client: TestClient) -> None:
    """An unknown loginID is 404 with the legacy error body (JSON when asked)."""
    response = v1_get(client, "nobody@example.com", Accept="application/json")
    assert response.status_code == 404
    assert "Message" in response.json()["Error"]


def test_element_name_aliases(client: TestClient) -> None:
    """``MI``, ``ExpenseUserApprover`` and ``LoginID`` are read as Mi, ExpenseApprover, LoginId."""
    body = batch(
        "<UserProfile><EmployeeID>E8</EmployeeID><FeedRecordNumber>1</FeedRecordNumber>"
        "<LOGINID>eight@example.com</LOGINID><Password/><LedgerKey>DEFAULT</LedgerKey>"
        "<LocaleName>en_US</LocaleName><CtryCode>US</CtryCode><CrnKey>USD</CrnKey>"
        "<MI>Q</MI><ExpenseUserApprover>Y</ExpenseUserApprover>"
        "<InvoiceUserApprover>y</InvoiceUserApprover></UserProfile>"
    )
    assert counts(result(post(client, body))) == (1, 0)
    fields = v1_fields(client, "eight@example.com")
    assert (fields["Mi"], fields["ExpenseApprover"], fields["InvoiceApprover"]) == ("Q", "Y", "Y")
    user = scim_user(client, "eight@example.com")
    assert user["name"]["middleInitial"] == "Q"
    roles = client.get(f"/profile/spend/v4.1/Users/{user['id']}").json()[SPEND_ROLE]
    assert {r["roleName"] for r in roles["roles"]} == {"EXP_APPROVER", "INV_APPROVER"}


def test_login_id_without_at_sign_is_invalid(client: TestClient) -> None:
    """A LoginId without '@' fails its record with ``Invalid Input: LoginId``."""
    root = result(post(client, batch(profile("E9", "no-at-sign"))))
    assert messages(root) == ["Invalid Input: LoginId"]


def test_both_keys_changed_creates_a_new_user_in_legacy_mode(client: TestClient) -> None:
    """New EmpId and new LoginId together match nobody, so legacy mode creates a second user."""
    result(post(client, batch(profile("K1", "k1@example.com"))))
    assert counts(result(post(client, batch(profile("K2", "k2@example.com"))))) == (1, 0)
    assert client.get("/scim/v2/Users").json()["totalResults"] == 2


def test_one_key_changed_updates_in_legacy_mode(client: TestClient) -> None:
    """Legacy mode: a record matching on EmpId overwrites the user's LoginId."""
    result(post(client, batch(profile("K3", "k3@example.com"))))
    assert counts(result(post(client, batch(profile("K3", "k3-new@example.com"))))) == (1, 0)
    users = client.get("/scim/v2/Users").json()
    assert [u["userName"] for u in users["Resources"]] == ["k3-new@example.com"]


def test_one_key_changed_fails_in_strict_mode(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strict mode (post-2016): a record whose LoginId names nobody but whose EmpId exists fails."""
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "user_v1_key_mode", "strict")
    result(post(client, batch(profile("K4", "k4@example.com"))))
    root = result(post(client, batch(profile("K4", "k4-new@example.com"))))
    assert messages(root) == ["Invalid Input: LoginId"]


def test_user_details_element_switch(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """``CONCUR_SCIM_USER_V1_DETAILS_ELEMENT=UserDetails`` renames the success list."""
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "user_v1_details_element", "UserDetails")
    root = result(post(client, batch(profile("E10", "ten@example.com"))))
    assert root.find(f"{Q}UserDetails") is not None
    assert root.find(f"{Q}UsersDetails") is None


def test_errors_are_capped_at_ten(client: TestClient) -> None:
    """Twelve failing records report records-failed 12 but only ten error elements."""
    body = batch(*(profile(f"E{n}", f"bad{n}", n) for n in range(12)))
    root = result(post(client, body))
    assert counts(root) == (0, 12)
    assert len(messages(root)) == 10


def test_doctype_and_entities_are_rejected(client: TestClient) -> None:
    """A DTD (the XXE vector) makes the whole request a 400, nothing is expanded."""
    body = (
        '<?xml version="1.0"?><!DOCTYPE batch [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + batch(profile("E1", "a@example.com", FirstName="&x;"))
    )
    response = post(client, body)
    assert response.status_code == 400
    assert fromstring(response.content).findtext("Message") == "The Request XML is invalid"


def test_malformed_xml_and_wrong_root_are_400(client: TestClient) -> None:
    """Unparsable XML or a root other than ``batch`` is ``The Request XML is invalid``."""
    for body in ("<batch", f'<users xmlns="{NS}"/>', '<batch xmlns="urn:other"/>'):
        assert post(client, body).status_code == 400


def test_unknown_elements_nil_and_whitespace(client: TestClient) -> None:
    """Unknown elements are ignored, ``i:nil`` means not sent, values are trimmed."""
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    body = (
        f'<batch xmlns="{NS}" xmlns:i="{xsi}">'
        + profile(
            "E11",
            "eleven@example.com",
            Active=" Y ",
            LedgerName="X",
            FirstName='" i:nil="true',
        ).replace('<FirstName>" i:nil="true</FirstName>', '<FirstName i:nil="true"/>')
        + "</batch>"
    )
    assert counts(result(post(client, body))) == (1, 0)
    fields = v1_fields(client, "eleven@example.com")
    assert (fields["Active"], fields["FirstName"]) == ("Y", "")


def test_paths_match_case_insensitively_with_trailing_slash(client: TestClient) -> None:
    """``/API/User/V1.0/Users/`` reaches the batch route; GET ``…/users`` is not GET user."""
    response = client.post(
        "/API/User/V1.0/Users/", content=batch(profile("E12", "twelve@example.com"))
    )
    assert counts(result(response)) == (1, 0)
    assert client.get("/api/user/v1.0/users").status_code in (404, 405)


def test_form_fields(client: TestClient) -> None:
    """FormFields lists the configured employee form with Required flags."""
    response = client.get("/api/user/v1.0/formfields/")
    assert response.status_code == 200
    root = fromstring(response.content)
    assert root.tag == f"{Q}FormFieldsList"
    required = {
        f.findtext(f"{Q}Id"): f.findtext(f"{Q}Required") for f in root.iter(f"{Q}FormField")
    }
    assert required["EmpId"] == "Y"
    assert required["FirstName"] == "N"


def test_concur_sample_form_requires_first_name(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the concur-sample form, a record without FirstName fails on create and update."""
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "user_v1_form", "concur-sample")
    root = result(post(client, batch(profile("E13", "thirteen@example.com"))))
    assert messages(root) == ["Missing Required Field: FirstName"]


def test_password_batch(client: TestClient) -> None:
    """The password batch answers a BatchResult with Success and Failed statuses."""
    result(post(client, batch(profile("E14", "pw@example.com"))))
    body = (
        f'<UserBatch xmlns="{NS}"><User><LoginID>pw@example.com</LoginID>'
        "<Password>New-Pw-2</Password></User><User><LoginID>x@example.com</LoginID>"
        "<Password>p</Password></User></UserBatch>"
    )
    response = client.post("/api/user/v1.0/Users/password", content=body, headers=XML_HEADERS)
    assert response.status_code == 200
    root = fromstring(response.content)
    assert root.findtext(f"{Q}RecordsSucceeded") == "1"
    assert root.findtext(f"{Q}RecordsFailed") == "1"
    statuses = [s.findtext(f"{Q}Status") for s in root.iter(f"{Q}UserPasswordStatus")]
    assert statuses == ["Success", "Failed"]


def test_failed_record_changes_nothing_of_its_own(client: TestClient) -> None:
    """A record failing on its spend data leaves its identity update undone (its savepoint)."""
    result(post(client, batch(profile("E15", "fifteen@example.com", FirstName="Old"))))
    bad = profile("E15", "fifteen@example.com", FirstName="New").replace(
        "<CrnKey>USD</CrnKey>", "<CrnKey></CrnKey>"
    )
    root = result(post(client, batch(bad)))
    assert messages(root) == ["Missing Required Field: CrnKey"]
    assert v1_fields(client, "fifteen@example.com")["FirstName"] == "Old"


def test_v1_user_reads_back_through_scim_identity_and_spend(client: TestClient) -> None:
    """The PingFederate-shaped sample reads back through /scim/v2, Identity v4 and spend v4.1."""
    root = result(post(client, (SAMPLES / "pingfederate_user_v1_create.xml").read_bytes()))
    assert counts(root) == (1, 0)
    user = scim_user(client, "grace.hopper@example.com")
    assert user["active"] is True
    assert user["name"] == {"givenName": "Grace", "familyName": "Hopper", "middleInitial": "B"}
    assert user["emails"] == [
        {"value": "grace.hopper@example.com", "type": "work", "primary": True}
    ]
    assert user[ENTERPRISE]["employeeNumber"] == "PF1001"
    assert {e["value"] for e in user["entitlements"]} == {"Expense", "Travel"}
    identity = client.get(f"/profile/identity/v4/Users/{user['id']}").json()
    assert identity["userName"] == "grace.hopper@example.com"
    assert identity[ENTERPRISE]["employeeNumber"] == "PF1001"
    spend = client.get(f"/profile/spend/v4.1/Users/{user['id']}").json()[SPEND_USER]
    assert spend["ledgerCode"] == "DEFAULT"
    assert spend["locale"] == "en-US"
    assert spend["country"] == "US"
    assert spend["stateProvince"] == "VA"
    assert spend["reimbursementCurrency"] == "USD"
    assert spend["testEmployee"] is False
    assert {c["id"]: c["value"] for c in spend["customData"]} == {
        "orgUnit1": "R&D",
        "custom21": "US",
    }


def test_scim_user_reads_back_through_v1(client: TestClient) -> None:
    """A user created through SCIM with spend data comes back from GET user v1.0."""
    created = client.post(
        "/scim/v2/Users",
        json={
            "userName": "scim@example.com",
            "name": {"givenName": "Sci", "familyName": "M"},
            "emails": [{"value": "scim@example.com", "type": "work"}],
            ENTERPRISE: {"employeeNumber": "S1"},
            "entitlements": [{"value": "Invoice"}],
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    spend: dict[str, Any] = {"reimbursementCurrency": "EUR", "country": "DE", "locale": "de-DE"}
    spend |= {"stateProvince": "BY", "customData": [{"id": "custom3", "value": "C3"}]}
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, write=True) as conn:
        company = client.app.state.default_company_id  # type: ignore[attr-defined]
        extensions.put_user_extension(conn, company, user_id, SPEND_USER, spend, system_clock)
    fields = v1_fields(client, "scim@example.com")
    assert fields["EmpId"] == "S1"
    assert (fields["FirstName"], fields["LastName"]) == ("Sci", "M")
    assert fields["EmailAddress"] == "scim@example.com"
    assert (fields["InvoiceUser"], fields["ExpenseUser"]) == ("Y", "N")
    assert (fields["CrnKey"], fields["CtryCode"], fields["CtrySubCode"]) == ("EUR", "DE", "DE-BY")
    assert (fields["LocaleName"], fields["Custom3"]) == ("de_DE", "C3")
    assert fields["Active"] == "Y"


def test_v3_common_users_list_and_search(client: TestClient) -> None:
    """``GET /api/v3.0/common/users`` lists v1-written users, pages and searches with eq."""
    profiles = [profile(f"L{n}", f"list{n}@example.com", n, LastName=f"Last{n}") for n in range(3)]
    result(post(client, batch(*profiles)))
    first = client.get("/api/v3.0/common/users", params={"limit": "2"})
    assert first.status_code == 200
    body = first.json()
    assert [u["LoginID"] for u in body["Items"]] == ["list0@example.com", "list1@example.com"]
    assert body["Items"][0]["EmployeeID"] == "L0"
    assert body["Items"][0]["Active"] is True
    assert "offset=2" in body["NextPage"]
    rest = client.get("/API/v3.0/Common/Users/", params={"limit": "2", "offset": "2"}).json()
    assert [u["LoginID"] for u in rest["Items"]] == ["list2@example.com"]
    assert rest["NextPage"] is None
    found = client.get("/api/v3.0/common/users", params={"lastName": "Last1"}).json()
    assert [u["EmployeeID"] for u in found["Items"]] == ["L1"]
    by_emp = client.get("/api/v3.0/common/users", params={"employeeID": "L2", "active": "true"})
    assert [u["LoginID"] for u in by_emp.json()["Items"]] == ["list2@example.com"]
    assert client.get("/api/v3.0/common/users", params={"limit": "101"}).status_code == 400


def test_get_without_login_id_uses_the_tokens_user(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without loginID, GET user answers the configured token user, else 404."""
    assert client.get("/api/user/v1.0/user").status_code == 404
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "user_v1_token_login_id", "admin@example.com")
    result(post(client, batch(profile("ADM", "admin@example.com"))))
    response = client.get("/api/user/v1.0/User", headers={"Authorization": "OAuth test-token"})
    assert response.status_code == 200
    assert fromstring(response.content).findtext(f"{Q}EmpId") == "ADM"


def test_require_namespace_switch(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unqualified batch is accepted by default and refused when the namespace is required."""
    plain = batch(profile("N1", "ns1@example.com")).replace(f' xmlns="{NS}"', "")
    assert counts(result(post(client, plain))) == (1, 0)
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "user_v1_require_namespace", True)
    assert post(client, plain.replace("N1", "N2").replace("ns1@", "ns2@")).status_code == 400


def test_currency_element_switch(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """``both`` emits CrnKey and CrnCode; ``CrnCode`` emits the docs' name only."""
    result(post(client, batch(profile("C1", "crn@example.com", CrnKey="eur"))))
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "user_v1_currency_element", "both")
    both = v1_fields(client, "crn@example.com")
    assert (both["CrnKey"], both["CrnCode"], len(both)) == ("EUR", "EUR", 48)
    monkeypatch.setattr(settings, "user_v1_currency_element", "CrnCode")
    root = fromstring(v1_get(client, "crn@example.com").content)
    assert root.findtext(f"{Q}CrnCode") == "EUR"
    assert root.find(f"{Q}CrnKey") is None


def test_many_unclosed_password_tags_are_a_plain_400(client: TestClient) -> None:
    """A body of 20,000 unclosed <Password> tags is rejected as invalid XML."""
    response = post(client, f'<batch xmlns="{NS}">' + "<Password>" * 20_000)
    assert response.status_code == 400


def test_password_redaction_cannot_backtrack_across_tags() -> None:
    """The log redaction matches only a tag's own text, so it is linear in the body size.

    A pattern that could run across '<' took quadratic time on unclosed tags (44 s for
    200 KB); this pins the property that rules that out, without timing anything.
    """
    from concur_scim.api.user_v1 import _PASSWORD

    assert _PASSWORD.sub(rb"\1***\2", b"<Password>s3cret</Password>") == (
        b"<Password>***</Password>"
    )
    spanning = b"<Password>a<Other/>b</Password>"
    assert _PASSWORD.sub(rb"\1***\2", spanning) == spanning


@pytest.mark.parametrize("encoding", ["zz-nope", "rot13", "hex"])
def test_unknown_declared_encoding_is_400(client: TestClient, encoding: str) -> None:
    """An XML declaration naming an encoding Python cannot use is rejected cleanly."""
    body = f'<?xml version="1.0" encoding="{encoding}"?><batch xmlns="{NS}"/>'
    response = post(client, body.encode())
    assert response.status_code == 400, response.text


def test_nul_in_login_id_is_not_found(client: TestClient) -> None:
    """A loginID containing NUL names no user: 404, on every backend."""
    response = client.get("/api/user/v1.0/user?loginID=a%00b@x.com")
    assert response.status_code == 404, response.text
