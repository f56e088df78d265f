"""`openprepay operator` and `openprepay token` beside the running dashboard: what they create logs in and calls the
API, what they disable or revoke no longer does, and no secret is ever listed."""
from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import pytest

from scada_core.__main__ import main
from tests.web.conftest import WebEnv

ONE_TIME = re.compile(r"one-time password of (\S+): (\S+)")


async def cli(capsys: pytest.CaptureFixture[str], config: Path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the command line in-process (off the event loop, as a separate command would be); return code, out, err."""
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        code = await asyncio.to_thread(main, [*argv, "-c", str(config)])
    out, err = capsys.readouterr()
    return code, out, err


async def login_status(env: WebEnv, username: str, password: str) -> int:
    """Return the status of a login through the form."""
    return (await env.submit_login(env.client(), username, password))[0]


async def api_status(env: WebEnv, token: str) -> int:
    """Return the status of an API call with a bearer token."""
    async with env.client().get(env.base + "/api/states", headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status


async def test_operators_and_tokens_from_the_command_line(start_web: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A site is set up without the UI: an admin with a one-time password, a cashier with a chosen one kept to a
    building, a token for a script; passwd, disable and revoke take effect; mistakes exit 1 with the reason; every
    change is audited as the command line's, no secret in it."""
    env: WebEnv = await start_web()
    config = env.core.config.config_dir

    code, out, _ = await cli(capsys, config, "operator", "add", "boss")
    assert code == 0, out
    [(username, one_time)] = ONE_TIME.findall(out)
    assert username == "boss" and len(one_time) >= 16
    assert await login_status(env, "boss", one_time) == 200  # then asked for a new password

    code, out, _ = await cli(capsys, config, "operator", "add", "till1", "--role", "cashier", "--buildings", "b1",
                             "--password-stdin", "--no-change", stdin="Till-one-pass-42\n")
    assert code == 0 and not ONE_TIME.search(out), out
    assert await login_status(env, "till1", "Till-one-pass-42") == 200

    code, out, _ = await cli(capsys, config, "operator", "list")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["boss"][2:] == ["admin", "active", "yes", "all"], out
    assert rows["till1"][2:] == ["cashier", "active", "no", "b1"], out

    code, out, _ = await cli(capsys, config, "token", "create", "till1", "--name", "nightly-export")
    token = out.splitlines()[-1]
    assert code == 0 and token.startswith("opt_"), out
    assert await api_status(env, token) == 200
    code, out, _ = await cli(capsys, config, "token", "create", "boss")
    spare = out.splitlines()[-1]
    code, out, _ = await cli(capsys, config, "token", "list")
    assert token not in out and spare not in out
    listed = {line.split()[1]: line.split() for line in out.splitlines()[1:]}
    assert listed["nightly-export"][2] == "till1" and listed["nightly-export"][-1] == "live", out
    code, out, _ = await cli(capsys, config, "token", "revoke", listed["api"][0])
    assert code == 0 and await api_status(env, spare) == 401
    code, _, err = await cli(capsys, config, "token", "revoke", listed["api"][0])
    assert code == 1 and "revoked already" in err

    code, _, _ = await cli(capsys, config, "operator", "passwd", "till1", "--password-stdin",
                           stdin="Another-till-pass-7\n")
    assert code == 0
    assert await login_status(env, "till1", "Till-one-pass-42") != 200
    assert await login_status(env, "till1", "Another-till-pass-7") == 200

    code, out, _ = await cli(capsys, config, "operator", "disable", "till1")
    assert code == 0
    assert await login_status(env, "till1", "Another-till-pass-7") != 200
    env.site.auth.forget()  # the server's 5 s token cache; the disable revoked the token in the database
    assert await api_status(env, token) == 401

    code, _, err = await cli(capsys, config, "operator", "add", "boss")
    assert code == 1 and "taken" in err
    code, _, err = await cli(capsys, config, "operator", "add", "weak", "--password-stdin", stdin="password\n")
    assert code == 1 and "common password" in err
    code, _, err = await cli(capsys, config, "operator", "add", "x1", "--buildings", "nowhere")
    assert code == 1 and err
    code, _, err = await cli(capsys, config, "token", "create", "nobody")
    assert code == 1 and "no operator 'nobody'" in err
    code, out, _ = await cli(capsys, config, "operator", "list")
    assert "weak" not in out and "x1" not in out

    audited = await env.site.audit.query(operator="command-line")
    assert {r["action"] for r in audited} == {"operator_create", "operator_password_reset", "operator_update",
                                             "token_create", "token_revoke"}
    assert not any(secret in str(r) for r in audited for secret in (one_time, token, "Another-till-pass-7"))


async def test_hostile_names_ids_and_roles_exit_with_a_reason(start_web: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A user name in Chinese is a name like any other; one with a space or a control character, a huge or an empty
    one, an unknown role, huge building lists and token names, made-up token ids (negative, huge, not a number):
    each exits non-zero with one line saying why and creates or revokes nothing; no traceback."""
    env: WebEnv = await start_web()
    config = env.core.config.config_dir
    assert (await cli(capsys, config, "operator", "add", "boss"))[0] == 0
    assert (await cli(capsys, config, "operator", "add", "张三", "--role", "viewer"))[0] == 0
    await cli(capsys, config, "token", "create", "boss")
    for argv in (("operator", "add", "老 板"), ("operator", "add", "boss\x00"), ("operator", "add", "x" * 65),
                 ("operator", "add", ""), ("operator", "add", "ok0", "--name", "n" * 129),
                 ("operator", "add", "ok1", "--role", "ghost"), ("operator", "add", "ok2", "--buildings", "b1" * 300),
                 ("operator", "passwd", "nobody"), ("operator", "disable", "老板"),
                 ("token", "revoke", "-5"), ("token", "revoke", "9" * 30), ("token", "revoke", "abc"),
                 ("token", "create", "boss", "--name", "n" * 1000)):
        try:
            code, out, err = await cli(capsys, config, *argv)
        except SystemExit as usage:  # argparse refuses what is not even of the right type (exit 2)
            code, out, err = int(usage.code or 0), "", capsys.readouterr().err
        assert code in (1, 2), (argv, code, out)
        assert err.strip() and "Traceback" not in err, (argv, err)
    code, out, _ = await cli(capsys, config, "operator", "list")
    assert sorted(line.split()[0] for line in out.splitlines()[1:]) == ["admin", "boss", "张三"], out
    code, out, _ = await cli(capsys, config, "token", "list")
    assert len(out.splitlines()) == 2 and out.splitlines()[1].split()[-1] == "live", out
