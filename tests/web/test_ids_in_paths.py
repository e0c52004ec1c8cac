"""A number in a URL that no row can have (beyond Postgres's bigint) is a 404, never a 500."""

from tests.marketplace.helpers import make_job

TOO_BIG = str(2**63)  # one past the largest bigint


async def test_a_job_id_beyond_bigint_is_not_found(anonymous, client, db):
    job = await make_job(db, client.user)
    assert (await anonymous.get(f"/jobs/{job.id}")).status_code == 200
    for path in (f"/jobs/{TOO_BIG}", "/jobs/" + "9" * 30):
        response = await anonymous.get(path)
        assert response.status_code == 404
        assert "couldn" in response.text


async def test_a_signed_in_form_aimed_at_a_huge_id_is_not_found(client, admin):
    assert (await client.get(f"/contracts/{TOO_BIG}")).status_code == 404
    assert (await client.post_form(f"/jobs/{TOO_BIG}/close")).status_code == 404
    assert (await admin.post_form(f"/admin/users/{TOO_BIG}/suspend", {"reason": "Spam."})).status_code == 404


async def test_the_largest_bigint_still_reaches_the_handler(client):
    # 2**63 - 1 fits: the page looks for the contract and does not find it.
    assert (await client.get(f"/contracts/{2**63 - 1}")).status_code == 404
