"""Static checks of the deployment files: docker-compose.yml, Dockerfile,
.dockerignore and the vendored front-end assets.

No Docker engine is needed: the files are parsed as text / YAML and checked
against the app's entry points and the configuration contract in
docs (MAILER_* variables).  Nothing from the app is imported.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_PATH = ROOT / "docker-compose.yml"
DOCKERFILE_PATH = ROOT / "Dockerfile"
DOCKERIGNORE_PATH = ROOT / ".dockerignore"

# The configuration contract (PRODUCT.md, "Configuration contract").
DOCUMENTED_VARS = {
    "MAILER_SECRET_KEY",
    "MAILER_DATABASE_URL",
    "MAILER_REDIS_URL",
    "MAILER_SMTP_URL",
    "MAILER_BASE_URL",
    "MAILER_FROM",
    "MAILER_TRUSTED_PROXIES",
}
REQUIRED_SERVICES = {"web", "worker", "beat", "redis", "postgres", "mailpit", "migrate", "proxy"}
APP_SERVICES = ("migrate", "web", "worker", "beat")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    data = yaml.safe_load(compose_text)
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose) -> dict:
    svcs = compose.get("services")
    assert isinstance(svcs, dict) and svcs, "docker-compose.yml has no services"
    return svcs


def command_text(service: dict) -> str:
    """A service's command as one string, whether written as a list or a string."""
    cmd = service.get("command")
    if cmd is None:
        return ""
    if isinstance(cmd, list):
        return " ".join(str(part) for part in cmd)
    return str(cmd)


def command_args(service: dict) -> list[str]:
    cmd = service.get("command")
    if isinstance(cmd, list):
        return [str(part) for part in cmd]
    return shlex.split(str(cmd or ""))


def depends_on(service: dict) -> dict:
    """depends_on normalised to {name: condition} (short list form = service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def one_shot_services(services: dict) -> set[str]:
    """Services that others wait on to *complete*: jobs, not daemons."""
    result = set()
    for svc in services.values():
        for name, condition in depends_on(svc).items():
            if condition == "service_completed_successfully":
                result.add(name)
    return result


def environment(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            key, _, value = str(item).partition("=")
            out[key] = value
        return out
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in DOCKERFILE_PATH.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue  # comments (also inside continuations) and blank lines
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            keyword, _, args = current.strip().partition(" ")
            instructions.append((keyword.upper(), args.strip()))
        current = ""
    if current.strip():
        keyword, _, args = current.strip().partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def exec_or_shell_form(args: str) -> list[str]:
    """Parse a CMD/ENTRYPOINT/COPY argument string in JSON (exec) or shell form."""
    if args.startswith("["):
        parsed = json.loads(args)
        assert isinstance(parsed, list)
        return [str(part) for part in parsed]
    return shlex.split(args)


def dockerignore_patterns() -> list[str]:
    if not DOCKERIGNORE_PATH.exists():
        return []
    patterns = []
    for line in DOCKERIGNORE_PATH.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line)
    return patterns


def is_dockerignored(rel_path: str) -> bool:
    """Good-enough .dockerignore matching for top-level paths (last match wins)."""
    ignored = False
    for pattern in dockerignore_patterns():
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.strip("/")
        for candidate in (pat, pat.removeprefix("**/")):
            if fnmatch.fnmatchcase(rel_path, candidate):
                ignored = not negate
                break
    return ignored


# --------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------


def test_compose_has_all_services(services):
    missing = REQUIRED_SERVICES - set(services)
    assert not missing, f"docker-compose.yml lacks services: {sorted(missing)}"


def test_every_service_has_healthcheck_or_is_one_shot(services):
    one_shots = one_shot_services(services)
    for name, svc in services.items():
        if name in one_shots:
            assert str(svc.get("restart", "no")) in {"no", "False", "false"}, (
                f"one-shot service {name!r} must not be restarted after it exits"
            )
            continue
        check = svc.get("healthcheck")
        assert check and not check.get("disable"), f"service {name!r} has no healthcheck"
        test = check.get("test")
        assert test, f"service {name!r}: healthcheck has no test"
        if isinstance(test, list):
            assert test[0] in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck test must start with CMD or CMD-SHELL"


def test_long_running_services_restart(services):
    one_shots = one_shot_services(services)
    for name, svc in services.items():
        if name in one_shots:
            continue
        assert svc.get("restart") in {"always", "unless-stopped", "on-failure"}, (
            f"service {name!r} needs a restart policy"
        )


def test_healthy_dependencies_have_healthchecks(services):
    for name, svc in services.items():
        for dep, condition in depends_on(svc).items():
            assert dep in services, f"{name} depends on unknown service {dep!r}"
            assert condition in {"service_started", "service_healthy", "service_completed_successfully"}
            if condition == "service_healthy":
                assert services[dep].get("healthcheck"), (
                    f"{name} waits for {dep} to be healthy but {dep} has no healthcheck"
                )


def test_web_runs_gunicorn_on_wsgi_app(services):
    cmd = command_text(services["web"])
    assert "gunicorn" in cmd
    assert "wsgi:app" in cmd
    assert "0.0.0.0:8000" in cmd


def test_visitors_reach_web_only_through_the_one_trusted_proxy(services):
    """Issue 10, item 9: a published web port would let anyone forge X-Forwarded-For past the proxy."""
    assert not services["web"].get("ports"), "web must not publish a port: the proxy does"
    assert environment(services["web"])["MAILER_TRUSTED_PROXIES"] == "1"
    proxy = services["proxy"]
    assert str(proxy["image"]).startswith("nginx:")
    assert any(str(p).endswith(":8000:8080") for p in proxy.get("ports", [])), "the proxy publishes port 8000"
    assert depends_on(proxy).get("web") == "service_healthy"
    mounts = [str(v) for v in proxy.get("volumes", [])]
    assert any(m.startswith("./deploy/nginx.conf:") for m in mounts)
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_pass http://web:8000;" in conf
    # Replaced, not appended to: the visitor's own X-Forwarded-For never reaches the app.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "access_log /dev/stdout redacted;" in conf


def test_web_healthcheck_hits_healthz_without_curl(services):
    test = services["web"]["healthcheck"]["test"]
    text = " ".join(test) if isinstance(test, list) else str(test)
    assert "/healthz" in text
    assert "curl" not in text, "python:3.11-slim has no curl"
    assert "urllib" in text


def test_wsgi_entry_point_exists():
    wsgi = ROOT / "wsgi.py"
    assert wsgi.is_file(), "wsgi.py (the gunicorn target wsgi:app) is missing at the repo root"
    assert "app = create_app(" in wsgi.read_text(encoding="utf-8"), "wsgi.py must define app = create_app(...)"


@pytest.mark.parametrize("name, subcommand", [("worker", "worker"), ("beat", "beat")])
def test_celery_services_use_worker_module(services, name, subcommand):
    args = command_args(services[name])
    assert args[:1] == ["celery"], f"{name} must run celery"
    assert "-A worker" in " ".join(args), f"{name} must load the Celery app with -A worker"
    assert subcommand in args[args.index("worker") + 1 :], f"{name} must run 'celery ... {subcommand}'"


def test_beat_schedule_is_written_to_a_writable_path(services):
    args = " ".join(command_args(services["beat"]))
    match = re.search(r"(?:--schedule|-s)[= ](\S+)", args)
    assert match, "beat needs --schedule: the app directory is not writable by the app user"
    assert match.group(1).startswith(("/tmp/", "/var/lib/", "/data/")), match.group(1)


def test_worker_entry_point_exists():
    worker = ROOT / "worker.py"
    assert worker.is_file(), "worker.py (the Celery entry, celery -A worker) is missing at the repo root"
    text = worker.read_text(encoding="utf-8")
    defines = re.search(r"^\s*celery_app\s*(?::[^=\n]*)?=", text, re.MULTILINE)
    imports = re.search(r"^\s*from\s+\S+\s+import\s+.*\bcelery_app\b", text, re.MULTILINE)
    assert defines or imports, "worker.py must define celery_app"


def test_migrate_runs_db_upgrade_before_app_services(services):
    migrate = services["migrate"]
    assert "db upgrade" in command_text(migrate)
    assert "flask" in command_text(migrate)
    assert depends_on(migrate).get("postgres") == "service_healthy"
    for name in ("web", "worker", "beat"):
        assert depends_on(services[name]).get("migrate") == "service_completed_successfully", (
            f"{name} must wait for migrate to complete successfully"
        )


def test_app_services_share_one_image(services):
    builds = {name: services[name].get("build") for name in APP_SERVICES}
    images = {name: services[name].get("image") for name in APP_SERVICES}
    assert all(builds.values()), f"every app service must build from the Dockerfile: {builds}"
    assert len({json.dumps(b, sort_keys=True) for b in builds.values()}) == 1, builds
    assert len(set(images.values())) == 1, images
    build = next(iter(builds.values()))
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE_PATH


def test_compose_uses_only_documented_mailer_vars(compose_text, services):
    used = set(re.findall(r"\bMAILER_[A-Z0-9_]+", compose_text))
    undocumented = used - DOCUMENTED_VARS
    assert not undocumented, f"undocumented MAILER_* variables in compose: {sorted(undocumented)}"
    for name in APP_SERVICES:
        env = environment(services[name])
        mailer_keys = {k for k in env if k.startswith("MAILER_")}
        assert mailer_keys == DOCUMENTED_VARS, f"{name}: MAILER_* env is {sorted(mailer_keys)}"


def test_app_env_points_at_the_stack(services):
    env = environment(services["web"])
    assert env["MAILER_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["MAILER_DATABASE_URL"]
    assert env["MAILER_REDIS_URL"].startswith("redis://redis:6379")
    assert "smtp://mailpit:1025" in env["MAILER_SMTP_URL"]
    assert "http://localhost:8000" in env["MAILER_BASE_URL"]


def test_secret_key_is_required_not_hard_coded(services):
    for name in APP_SERVICES:
        value = environment(services[name])["MAILER_SECRET_KEY"]
        assert re.fullmatch(r"\$\{MAILER_SECRET_KEY:\?[^}]+\}", value), (
            f"{name}: MAILER_SECRET_KEY must be ${{MAILER_SECRET_KEY:?message}}, got {value!r}"
        )


def _strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


def test_dollar_signs_are_interpolations_or_escaped(compose):
    for value in _strings(compose):
        stray = re.search(r"\$(?![{A-Za-z_])", value.replace("$$", ""))
        assert not stray, f"a literal '$' in docker-compose.yml must be written '$$': {value!r}"


def test_commands_do_not_interpolate_host_variables(services):
    # Compose substitutes $VAR / ${VAR} from the *host* environment.  Inside a
    # command or healthcheck the container's own variable is meant: write $$VAR.
    for name, svc in services.items():
        parts = [svc.get("command"), svc.get("entrypoint"), (svc.get("healthcheck") or {}).get("test")]
        for value in _strings(parts):
            assert "$" not in value.replace("$$", ""), (
                f"{name}: {value!r} would be interpolated by Compose on the host; escape it as $$"
            )


def test_postgres_data_lives_in_a_named_volume(compose, services):
    pg = services["postgres"]
    assert str(pg["image"]).startswith("postgres:15")
    volumes = compose.get("volumes") or {}
    mounts = pg.get("volumes", [])
    sources = []
    for mount in mounts:
        if isinstance(mount, dict):
            source, target = mount.get("source"), mount.get("target")
        else:
            source, _, rest = str(mount).partition(":")
            target = rest.split(":")[0]
        if target == "/var/lib/postgresql/data":
            sources.append(source)
    assert sources and sources[0] in volumes, f"postgres data needs a named volume, got {mounts}"
    assert "pg_isready" in json.dumps(pg["healthcheck"]["test"])


def test_redis_and_mailpit(services):
    assert str(services["redis"]["image"]).startswith("redis:7")
    assert "redis-cli" in json.dumps(services["redis"]["healthcheck"]["test"])
    assert str(services["mailpit"]["image"]).startswith("axllent/mailpit")
    ports = [str(p) for p in services["mailpit"].get("ports", [])]
    assert any(p.endswith(":8025") for p in ports), "the Mailpit web UI (8025) must be published"


# --------------------------------------------------------------------------
# Dockerfile and .dockerignore
# --------------------------------------------------------------------------


def test_dockerfile_base_user_and_env():
    instructions = dockerfile_instructions()
    froms = [args for kw, args in instructions if kw == "FROM"]
    assert froms and froms[0].split()[0].startswith("python:3.11-slim")
    users = [args for kw, args in instructions if kw == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, "the image must run as a non-root user"
    env_text = " ".join(args for kw, args in instructions if kw == "ENV")
    assert re.search(r"\bFLASK_APP=wsgi\b", env_text)
    assert any(kw == "EXPOSE" and "8000" in args.split() for kw, args in instructions)
    runs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert re.search(r"pip install --no-cache-dir -r requirements\.txt", runs)


def test_dockerfile_cmd_serves_wsgi_app():
    cmds = [args for kw, args in dockerfile_instructions() if kw == "CMD"]
    assert cmds, "Dockerfile has no CMD"
    cmd = exec_or_shell_form(cmds[-1])
    assert cmd[0] == "gunicorn"
    assert "wsgi:app" in cmd
    assert "0.0.0.0:8000" in " ".join(cmd)


def test_dockerfile_copies_only_existing_files():
    copies = [args for kw, args in dockerfile_instructions() if kw in {"COPY", "ADD"}]
    assert copies, "Dockerfile copies nothing"
    for args in copies:
        parts = exec_or_shell_form(args)
        if any(p.startswith("--from") for p in parts):
            continue  # from another build stage, not from the context
        sources = [p for p in parts if not p.startswith("--")][:-1]
        assert sources, f"COPY without a source: {args}"
        for src in sources:
            matches = list(ROOT.glob(src)) if any(c in src for c in "*?[") else [ROOT / src]
            assert matches and all(m.exists() for m in matches), f"Dockerfile copies missing {src!r}"
            if src not in {".", "./"}:
                assert not is_dockerignored(src.rstrip("/")), f"{src!r} is copied but .dockerignore excludes it"


def test_dockerignore_keeps_secrets_and_local_state_out():
    for path in (".env", ".git", ".venv", "node_modules", "instance"):
        assert is_dockerignored(path), f".dockerignore must exclude {path}"


def test_dockerignore_keeps_what_the_app_needs():
    for path in ("wsgi.py", "worker.py", "mailer", "templates", "migrations", "requirements.txt"):
        assert not is_dockerignored(path), f".dockerignore must not exclude {path}"


def test_runtime_tools_are_pinned_requirements():
    reqs = (ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    for package in ("gunicorn==", "celery", "psycopg", "flask-migrate=="):
        assert package in reqs, f"requirements.txt must pin {package.rstrip('=')} (used by the compose commands)"


# --------------------------------------------------------------------------
# vendored front-end assets
# --------------------------------------------------------------------------

VENDOR = ROOT / "mailer" / "static" / "vendor"


@pytest.fixture(scope="module")
def package_json() -> dict:
    return json.loads((ROOT / "package.json").read_text(encoding="utf-8"))


def test_front_end_packages_are_pinned_exactly(package_json):
    deps = package_json.get("devDependencies", {})
    assert set(deps) >= {"@picocss/pico", "htmx.org"}
    for name, version in deps.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} must be pinned exactly, got {version!r}"
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in deps.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, f"package-lock.json disagrees on {name}"


def test_vendor_script_and_files(package_json):
    script = package_json.get("scripts", {}).get("vendor", "")
    for filename in ("pico.min.css", "pico.LICENSE.md", "htmx.min.js", "htmx.LICENSE"):
        assert f"mailer/static/vendor/{filename}" in script, f"npm run vendor must produce {filename}"
        path = VENDOR / filename
        assert path.is_file() and path.stat().st_size > 0, f"{path.relative_to(ROOT)} is missing; run npm ci && npm run vendor"


def test_vendored_files_match_pinned_versions(package_json):
    deps = package_json["devDependencies"]
    pico_head = (VENDOR / "pico.min.css").read_text(encoding="utf-8")[:400]
    assert f"v{deps['@picocss/pico']}" in pico_head, "pico.min.css is not the pinned version; run npm run vendor"
    htmx = (VENDOR / "htmx.min.js").read_text(encoding="utf-8")
    assert f'version:"{deps["htmx.org"]}"' in htmx, "htmx.min.js is not the pinned version; run npm run vendor"


# --------------------------------------------------------------------------
# docs
# --------------------------------------------------------------------------


def test_deployment_doc_covers_the_basics():
    doc = (ROOT / "docs" / "DEPLOYMENT.md").read_text(encoding="utf-8")
    for needle in ("docker compose up", "MAILER_SECRET_KEY", "staff create", "DKIM", "8025"):
        assert needle in doc, f"docs/DEPLOYMENT.md should mention {needle!r}"


def test_the_inbound_listener_runs_as_a_service(services):
    inbound = services["inbound"]
    args = command_args(inbound)
    assert args[:4] == ["flask", "--app", "wsgi", "mail-inbound"] and "--port" in args
    port = args[args.index("--port") + 1]
    assert inbound.get("image") == services["web"].get("image")
    assert all(p.startswith("127.0.0.1:") for p in inbound.get("ports", [])), "the listener has no authentication"
    assert any(p.endswith(f":{port}") for p in inbound["ports"])
    assert depends_on(inbound).get("migrate") == "service_completed_successfully"
    assert port in json.dumps(inbound["healthcheck"]["test"])
