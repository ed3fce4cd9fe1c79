"""Flower's configuration file (`celery -A worker flower --conf=infra/flower_conf.py`, which tornado
executes as Python). Flower asks for its basic-auth login on every page and API call but serves
/metrics without it (flower 2.2: the handler is not marked authenticated), and those metrics name
task names, counts and worker hosts. Here /metrics asks for the same login; /healthcheck stays
open for the platform's health check. Prometheus scrapes it with `basic_auth`."""

import tornado.web
from flower.views import monitor

if not getattr(monitor.Metrics.get, "asks_for_login", False):
    monitor.Metrics.get = tornado.web.authenticated(monitor.Metrics.get)
    monitor.Metrics.get.asks_for_login = True
