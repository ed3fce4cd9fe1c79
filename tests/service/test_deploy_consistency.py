"""render.yaml, docker-compose.yml, the Dockerfile and deploy_scalable.sh describe one system.

Checked here (also run by `./deploy_scalable.sh render`): docker-compose.yml against the Compose
Specification's JSON schema; every Celery queue has a worker in both deployments; every command is a real subcommand of the script; every environment variable set
is one the code reads, and every one it needs is set or has a default; render.yaml has the fields
Render's Blueprint spec requires and its references (fromDatabase, fromService, fromGroup) resolve.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from fnmatch import fnmatch
from pathlib import Path

import jsonschema
import pytest
import yaml

from celery_config import QUEUES
from infra.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "deploy_scalable.sh").read_text()
RENDER = yaml.safe_load((ROOT / "render.yaml").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

# Read by the platform or tools rather than by our code.
PLATFORM_VARS = {"PYTHON_VERSION", "FLASK_APP", "PORT"}
# The preDeployCommand may be the command the script's `migrate` runs, spelled directly.
DIRECT_COMMANDS = {"flask db upgrade": "migrate"}
# Field names and enumerations of Render's Blueprint JSON schema (https://render.com/schema/render.yaml.json,
# additionalProperties: false), for the kinds of resource this blueprint uses.
SERVICE_TYPES = {"web", "worker", "pserv", "cron", "keyvalue", "redis"}
RUNTIMES = {"python", "docker", "image", "node", "ruby", "go", "rust", "elixir", "static"}
REGIONS = {"oregon", "ohio", "frankfurt", "singapore", "virginia"}
PLANS = {"free", "starter", "standard", "pro", "pro plus", "pro max", "pro ultra", "basic-256mb", "basic-1gb",
         "basic-4gb"} | {f"pro-{n}gb" for n in (4, 8, 16, 32, 64, 128, 192, 256, 384, 512)}
SERVER_FIELDS = {"type", "name", "region", "plan", "runtime", "repo", "branch", "image", "rootDir", "dockerCommand",
                 "dockerContext", "dockerfilePath", "numInstances", "healthCheckPath", "scaling", "buildCommand",
                 "startCommand", "preDeployCommand", "registryCredential", "domain", "domains", "envVars",
                 "autoDeploy", "autoDeployTrigger", "initialDeployHook", "disk", "buildFilter", "previews",
                 "maintenanceMode", "maxShutdownDelaySeconds", "ipAllowList", "renderSubdomainPolicy"}
KEYVALUE_FIELDS = {"type", "name", "region", "ipAllowList", "plan", "previewPlan", "maxmemoryPolicy", "persistenceMode"}
DATABASE_FIELDS = {"name", "databaseName", "user", "region", "plan", "diskSizeGB", "storageAutoscalingEnabled",
                   "connectionPool", "previewPlan", "previewDiskSizeGB", "postgresMajorVersion", "highAvailability",
                   "ipAllowList", "readReplicas"}
# What each role needs from its environment in production (values must come from the deployment).
NEEDS = {"web": {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "STORAGE_URL"},
         "worker": {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "STORAGE_URL"},
         "beat": {"CELERY_BROKER_URL"}, "flower": {"CELERY_BROKER_URL", "FLOWER_BASIC_AUTH"}, "migrate": {"DATABASE_URL"}}


# ---- what the code offers -------------------------------------------------------------------
def script_subcommands() -> set[str]:
    """The labels of the script's final `case "${1:-}" in ... esac` (its command dispatch)."""
    dispatch = SCRIPT[SCRIPT.rindex('case "${1:-}" in'):]
    dispatch = dispatch[:dispatch.index("esac")]
    labels = re.findall(r"^\s+([a-z][a-z|-]*)\)", dispatch, re.M)
    return {name for label in labels for name in label.split("|")}


def variables_read() -> set[str]:
    """Environment variables read by infra/settings.py, gunicorn.conf.py and the script."""
    settings = (ROOT / "infra" / "settings.py").read_text()
    names = set(re.findall(r'env\.get\("([A-Z][A-Z0-9_]+)"', settings))
    names |= set(re.findall(r'\(env, "([A-Z][A-Z0-9_]+)"', settings))
    names |= set(re.findall(r'environ(?:\.get\(|\[)"([A-Z][A-Z0-9_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", SCRIPT))
    return names


# ---- what the deployments say ---------------------------------------------------------------
def role(command: list[str]) -> tuple[str, list[str]]:
    """(subcommand, arguments) of a command given to the script (or spelled directly)."""
    text = " ".join(command)
    if text in DIRECT_COMMANDS:
        return DIRECT_COMMANDS[text], []
    if command and command[0] == "./deploy_scalable.sh":
        command = command[1:]
    return command[0], command[1:]


def render_services(*types) -> list[dict]:
    return [s for s in RENDER["services"] if not types or s["type"] in types]


def render_roles() -> list[tuple[dict, str, list[str]]]:
    found = []
    for service in render_services("web", "worker", "pserv", "cron"):
        for field in ("startCommand", "preDeployCommand"):
            if field in service:
                found.append((service, *role(shlex.split(service[field]))))
    return found


def compose_app_services() -> dict[str, dict]:
    return {name: s for name, s in COMPOSE["services"].items() if "build" in s or s.get("image") == "slidecast:latest"}


def compose_roles() -> list[tuple[str, str, list[str]]]:
    return [(name, *role(list(s["command"]))) for name, s in compose_app_services().items()]


def render_env(service: dict) -> dict[str, str]:
    """The environment Render would give `service`, with references replaced by sample values."""
    groups = {g["name"]: g for g in RENDER.get("envVarGroups", [])}
    env = {}
    for entry in service.get("envVars", []):
        if "fromGroup" in entry:
            env.update({e["key"]: str(e.get("value", "generated")) for e in groups[entry["fromGroup"]]["envVars"]})
        elif "fromDatabase" in entry:
            env[entry["key"]] = "postgres://slidecast:secret@dpg-example-a:5432/slidecast"
        elif "fromService" in entry:
            env[entry["key"]] = "redis://red-example:6379"
        elif entry.get("sync") is False:
            env[entry["key"]] = "https://s3.example.com" if entry["key"].endswith("_URL") else "secret:value"
        else:
            env[entry["key"]] = str(entry.get("value", "generated"))
    return env


# ---- queues and commands --------------------------------------------------------------------
def consumed(roles) -> list[str]:
    return [q for _, sub, args in roles if sub == "worker" for q in args[0].split(",")]


@pytest.mark.parametrize("where", ["render.yaml", "docker-compose.yml"])
def test_every_queue_has_a_worker(where):
    queues = consumed(render_roles() if where == "render.yaml" else compose_roles())
    assert set(QUEUES) - set(queues) == set(), f"{where}: no worker consumes these queues"
    assert set(queues) - set(QUEUES) == set(), f"{where}: workers consume queues celery_config does not define"
    assert len(queues) == len(set(queues)), f"{where}: a queue is consumed by two worker groups: {queues}"


def test_every_command_is_a_subcommand_of_the_script():
    subcommands = script_subcommands()
    assert {"setup", "local", "test", "demo", "worker", "docker", "render"} <= subcommands
    for service, sub, args in render_roles():
        assert sub in subcommands, f"render.yaml {service['name']}: {sub!r} is not a deploy_scalable.sh command"
    for name, sub, args in compose_roles():
        assert sub in subcommands, f"docker-compose.yml {name}: {sub!r} is not a deploy_scalable.sh command"
    migrate = SCRIPT[SCRIPT.index("migrate() {"):]
    assert re.match(r"migrate\(\) \{[^\n]*flask[^\n]* db upgrade", migrate), "the script's migrate must run flask db upgrade"


def test_docker_image_runs_the_script():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["./deploy_scalable.sh"]' in dockerfile
    assert re.search(r"^USER (?!root)\S+", dockerfile, re.M), "the runtime stage must not run as root"
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2, "multi-stage build expected"


def test_both_deployments_run_the_same_roles():
    render = {(sub, tuple(args)) for _, sub, args in render_roles()}
    compose = {(sub, tuple(args)) for _, sub, args in compose_roles()}
    assert render == compose, f"only in render.yaml: {render - compose}; only in compose: {compose - render}"
    assert sum(1 for _, sub, _ in render_roles() if sub == "beat") == 1


# ---- environment ----------------------------------------------------------------------------
def test_every_variable_set_is_one_the_code_reads():
    known = variables_read() | PLATFORM_VARS
    for service in render_services("web", "worker"):
        unknown = set(render_env(service)) - known
        assert not unknown, f"render.yaml {service['name']} sets variables nothing reads: {unknown}"
    for name, service in compose_app_services().items():
        unknown = set(service.get("environment", {})) - known
        assert not unknown, f"docker-compose.yml {name} sets variables nothing reads: {unknown}"


def test_every_variable_the_app_reads_has_a_default():
    """settings.py starts with an empty environment: whatever is not set has a usable default."""
    assert load_settings({})["STORAGE_URL"]


def test_each_role_gets_what_it_needs_and_the_settings_accept_it():
    for service, sub, _ in render_roles():
        env = render_env(service)
        missing = NEEDS.get(sub, set()) - set(env)
        assert not missing, f"render.yaml {service['name']} ({sub}) lacks {missing}"
        try:
            settings = load_settings(env)
        except ConfigError as exc:
            pytest.fail(f"render.yaml {service['name']}: {exc}")
        if sub in ("web", "worker"):  # separate machines: artifacts must be in shared storage
            assert settings["STORAGE_URL"].startswith("s3://"), service["name"]
            assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(env), service["name"]
    for name, sub, _ in compose_roles():
        env = {k: str(v) for k, v in compose_app_services()[name].get("environment", {}).items()}
        missing = NEEDS.get(sub, set()) - set(env)
        assert not missing, f"docker-compose.yml {name} ({sub}) lacks {missing}"
        settings = load_settings(env)
        if sub in ("web", "worker"):  # one machine: every container mounts the storage folder
            mounts = [v.split(":", 1)[1] for v in compose_app_services()[name].get("volumes", [])]
            assert settings["STORAGE_URL"] in mounts, f"docker-compose.yml {name}: STORAGE_URL is not a shared volume"


# ---- the Compose Specification's schema ------------------------------------------------------
def compose_errors(document) -> list[str]:
    """Where `document` breaks the Compose Specification's JSON schema (tests/data/schemas/README.md
    says where the vendored copy comes from)."""
    schema = json.loads((ROOT / "tests/data/schemas/compose-spec.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def test_docker_compose_yml_follows_the_compose_specification():
    assert compose_errors(COMPOSE) == []


def test_the_compose_check_catches_a_misspelt_field():
    broken = copy.deepcopy(COMPOSE)
    first = next(iter(broken["services"].values()))
    first["enviroment"] = first.pop("environment", {})
    assert any("enviroment" in error for error in compose_errors(broken))


# ---- Render's schema ------------------------------------------------------------------------
def test_render_yaml_has_the_fields_render_requires():
    assert set(RENDER) <= {"services", "databases", "envVarGroups", "projects", "ungrouped", "previews", "version"}
    names = [s["name"] for s in RENDER["services"]] + [d["name"] for d in RENDER.get("databases", [])]
    assert len(names) == len(set(names)), "service and database names must be unique"
    for service in RENDER["services"]:
        assert service["type"] in SERVICE_TYPES, service["name"]
        allowed = KEYVALUE_FIELDS if service["type"] in ("keyvalue", "redis") else SERVER_FIELDS
        assert set(service) <= allowed, f"{service['name']}: fields Render does not know: {set(service) - allowed}"
        assert service.get("plan") in PLANS and service.get("region") in REGIONS, service["name"]
        assert service["region"] == "oregon", "one region: services reach each other on the private network"
        if service["type"] in ("web", "worker", "pserv", "cron"):
            assert service["runtime"] in RUNTIMES, service["name"]
            assert service.get("buildCommand") and service.get("startCommand"), service["name"]
        if "maxShutdownDelaySeconds" in service:
            assert 1 <= service["maxShutdownDelaySeconds"] <= 300, service["name"]
    for kv in render_services("keyvalue", "redis"):
        assert kv["maxmemoryPolicy"] in {"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
                                         "volatile-lfu", "volatile-random", "volatile-ttl"}, kv["name"]
        assert isinstance(kv["ipAllowList"], list), "ipAllowList is required for Key Value"
        assert all("source" in entry for entry in kv["ipAllowList"]), "ipAllowList entries are {source: CIDR}"
    for database in RENDER["databases"]:
        assert set(database) <= DATABASE_FIELDS, f"{database['name']}: {set(database) - DATABASE_FIELDS}"
        assert database.get("plan") in PLANS and database.get("region") == "oregon"
        assert all("source" in entry for entry in database.get("ipAllowList", []))


def test_render_references_resolve():
    services = {s["name"]: s["type"] for s in RENDER["services"]}
    databases = {d["name"] for d in RENDER["databases"]}
    groups = {g["name"] for g in RENDER["envVarGroups"]}
    for group in RENDER["envVarGroups"]:
        for entry in group["envVars"]:
            # Render rejects `sync: false` inside a group: a secret asked for in the Dashboard
            # belongs to each service that needs it.
            assert set(entry) <= {"key", "value", "generateValue", "previewValue"}, f"group {group['name']}: {entry}"
    for service in render_services():
        for entry in service.get("envVars", []):
            if "fromGroup" in entry:
                assert entry["fromGroup"] in groups, entry
                continue
            sources = {"value", "generateValue", "sync", "fromDatabase", "fromService"} & set(entry)
            assert "key" in entry and len(sources) == 1, f"{service['name']}: {entry}"
            if "fromDatabase" in entry:
                assert entry["fromDatabase"]["name"] in databases, entry
                assert entry["fromDatabase"]["property"] == "connectionString", entry
            if "fromService" in entry:
                ref = entry["fromService"]
                assert services.get(ref["name"]) == ref["type"], entry
                assert ref.get("property") in {"host", "port", "hostport", "connectionString"} or "envVarKey" in ref


def test_render_web_services_and_their_health_checks(embedded_app):
    rules = {rule.rule for rule in embedded_app.url_map.iter_rules()}
    (api,) = [s for s, sub, _ in render_roles() if sub == "web"]
    assert api["healthCheckPath"] in rules
    assert api["preDeployCommand"] == "flask db upgrade"
    for service, sub, _ in render_roles():
        if sub == "worker":
            assert service["type"] == "worker" and service.get("maxShutdownDelaySeconds", 30) >= 120, service["name"]
        if sub == "flower":
            auth = [e for e in service["envVars"] if e.get("key") == "FLOWER_BASIC_AUTH"]
            assert auth and auth[0].get("sync") is False, "Flower's password must come from the Dashboard"


# ---- Key Values, scaling, shutdown, builds --------------------------------------------------
def kv_of(service: dict, key: str) -> dict | None:
    """The Key Value service whose connection string `service` gets as `key`."""
    kvs = {kv["name"]: kv for kv in render_services("keyvalue", "redis")}
    for entry in service.get("envVars", []):
        if entry.get("key") == key and "fromService" in entry:
            return kvs[entry["fromService"]["name"]]
    return None


def test_the_broker_never_evicts_and_the_cache_is_a_separate_key_value():
    """A full cache must not refuse the broker's writes (every submit would be 503)."""
    for service in render_services("web", "worker"):
        broker = kv_of(service, "CELERY_BROKER_URL")
        assert broker and broker["maxmemoryPolicy"] == "noeviction", f"{service['name']}: queues must never be evicted"
        cache = kv_of(service, "REDIS_URL")
        if cache is not None:
            assert cache["name"] != broker["name"], f"{service['name']}: cache and broker share a Key Value"
            assert cache["maxmemoryPolicy"] == "allkeys-lru", f"{service['name']}: the cache must evict when full"
    compose = COMPOSE["services"]
    broker_host = COMPOSE["x-app"]["environment"]["CELERY_BROKER_URL"].split("//")[1].split(":")[0]
    cache_host = COMPOSE["x-app"]["environment"]["REDIS_URL"].split("//")[1].split(":")[0]
    assert broker_host != cache_host
    assert "noeviction" in compose[broker_host]["command"] and "allkeys-lru" in compose[cache_host]["command"]


def test_the_api_and_every_worker_scale_on_cpu_and_memory():
    for service, sub, args in render_roles():
        if sub not in ("web", "worker"):
            continue
        scaling = service.get("scaling")
        assert scaling, f"{service['name']}: no scaling block"
        assert 1 <= scaling["minInstances"] <= scaling["maxInstances"], service["name"]
        assert 1 <= scaling["targetCPUPercent"] <= 90 and 1 <= scaling["targetMemoryPercent"] <= 90, service["name"]
        assert "numInstances" not in service, f"{service['name']}: numInstances and scaling contradict each other"
        if sub == "worker":
            autoscale = load_settings(render_env(service))["WORKER_AUTOSCALE"]
            assert autoscale and autoscale[0] >= autoscale[1], f"{service['name']}: WORKER_AUTOSCALE=max,min"


def test_a_deploy_hands_running_steps_back_before_the_platform_kills_the_worker():
    """The soft shutdown must end before Render's SIGKILL (maxShutdownDelaySeconds, default 30)
    and docker's (stop_grace_period, default 10 s), leaving time to cancel and re-queue."""
    for service, sub, _ in render_roles():
        if sub == "worker":
            soft = load_settings(render_env(service))["WORKER_SOFT_SHUTDOWN_SECONDS"]
            assert soft + 10 <= service.get("maxShutdownDelaySeconds", 30), service["name"]
    for name, sub, _ in compose_roles():
        if sub == "worker":
            env = {k: str(v) for k, v in compose_app_services()[name].get("environment", {}).items()}
            grace = int(str(compose_app_services()[name].get("stop_grace_period", "10s")).rstrip("s"))
            assert load_settings(env)["WORKER_SOFT_SHUTDOWN_SECONDS"] + 10 <= grace, name
    assert re.search(r"export REMAP_SIGTERM=SIGQUIT\n(.*\n)*?\s+exec .*celery.* worker ", SCRIPT), \
        "the worker command must turn SIGTERM into Celery's soft-then-cold shutdown"


def test_every_service_builds_only_when_its_files_change():
    for service in render_services("web", "worker"):
        build_filter = service.get("buildFilter")
        assert build_filter, f"{service['name']}: no buildFilter, every commit would rebuild it"
        for pattern in build_filter.get("paths", []):
            assert list(ROOT.glob(pattern)), f"{service['name']}: buildFilter path {pattern!r} matches no file"
        ignored = build_filter.get("ignoredPaths", [])
        assert not any(fnmatch(p, g) for g in ignored for p in ("app.py", "slidecast/pipeline.py", "requirements/service.txt")), \
            f"{service['name']}: ignores code it runs"
