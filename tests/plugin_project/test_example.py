from concur_scim.pytest_plugin import ConcurScim


def test_my_client_retries_a_503(concur_scim: ConcurScim) -> None:
    concur_scim.seed([{"userName": "ada@example.com"}])
    concur_scim.faults.add(path="/scim/v2/Users", method="GET", status=503, count=1)
    users = f"{concur_scim.scim_v2}/Users"
    assert concur_scim.client.get(users).status_code == 503  # your client's retry goes here
    assert concur_scim.client.get(users).json()["totalResults"] == 1
