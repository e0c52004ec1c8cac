"""The proof bundle: the parties (and admins) download it; the standalone checker in docs/
says it is intact, and says so no longer once anything in it is changed."""

import json
import subprocess
import sys
from pathlib import Path

from tests.contracts.helpers import active_contract

CHECKER = Path(__file__).resolve().parents[2] / "docs" / "audit" / "verify_bundle.py"


def run_checker(tmp_path: Path, bundle: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return subprocess.run([sys.executable, str(CHECKER), str(path)], capture_output=True, text=True, timeout=60)


async def test_parties_download_a_bundle_the_standalone_checker_accepts(tmp_path, db, client, contractor, admin):
    contract, version = await active_contract(db, client.user, contractor.user)
    response = await contractor.get(f"/contracts/{contract.id}/proof")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="pactline-contract-{contract.public_id}-proof.json"'
    )
    bundle = response.json()
    assert bundle["subject"] == {"type": "contract", "id": contract.public_id}
    assert [e["kind"] for e in bundle["events"]][-1] == "contract_activated"
    assert bundle["events"][-1]["data"]["terms_hash"] == version.terms_hash
    checked = run_checker(tmp_path, bundle)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith(f"OK: {len(bundle['events'])} events verified")
    assert (await client.get(f"/contracts/{contract.id}/proof")).status_code == 200
    assert (await admin.get(f"/contracts/{contract.id}/proof")).status_code == 200


async def test_a_tampered_bundle_fails_the_check(tmp_path, db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    bundle = (await client.get(f"/contracts/{contract.id}/proof")).json()
    signed = next(e for e in bundle["events"] if e["kind"] == "contract_signed")
    signed["data"]["terms_hash"] = "f" * 64  # claim a different version was signed
    checked = run_checker(tmp_path, bundle)
    assert checked.returncode == 1
    assert f"BROKEN: event {signed['seq']} (contract_signed): content does not match its hash" in checked.stdout


async def test_others_get_no_bundle(db, client, contractor, other_contractor, anonymous):
    contract, _ = await active_contract(db, client.user, contractor.user)
    response = await other_contractor.get(f"/contracts/{contract.id}/proof")
    assert response.status_code == 404 and contract.public_id not in response.text
    visitor = await anonymous.get(f"/contracts/{contract.id}/proof")
    assert visitor.status_code in (302, 303) and visitor.headers["location"].startswith("/login")
