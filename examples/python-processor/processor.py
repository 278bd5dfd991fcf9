"""A Baton processor in Python, standard library only, written from generated/docs/processors.md.

It takes Pub/Sub push requests (or, for an entry-phase processor, entry requests), does its work and
publishes exactly one completion envelope per execution over the Pub/Sub REST API, then answers 2xx.

Environment:
  BATON_PROCESSOR       its name in pipeline.yaml                    (required)
  BATON_PHASE           its phase                                    (required)
  BATON_TOPIC           the topic its completions go to              (required)
  BATON_PIPELINE        the pipeline's name (for ce-source)          (required)
  BATON_PIPELINE_HASH   hash of the pipeline.yaml it was deployed with (else the trigger's)
  BATON_ENTRY           "1" for a processor of an entry phase (started by entry requests)
  PUBSUB_PROJECT        the project it publishes in (or GOOGLE_CLOUD_PROJECT)
  PUBSUB_EMULATOR_HOST  host:port of the Pub/Sub emulator; unset = pubsub.googleapis.com with the
                        metadata server's token (Cloud Run)
  PORT                  where to listen (default 8080)
"""

import base64
import hashlib
import json
import os
import re
import secrets
import sys
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = os.environ["BATON_PROCESSOR"]
PHASE = os.environ["BATON_PHASE"]
TOPIC = os.environ["BATON_TOPIC"]
PIPELINE = os.environ["BATON_PIPELINE"]
PIPELINE_HASH = os.environ.get("BATON_PIPELINE_HASH")
ENTRY = os.environ.get("BATON_ENTRY") == "1"
PROJECT = os.environ.get("PUBSUB_PROJECT") or os.environ["GOOGLE_CLOUD_PROJECT"]
EMULATOR = os.environ.get("PUBSUB_EMULATOR_HOST")

MESSAGE_TYPES = ("dev.baton.trigger.v1", "dev.baton.completion.v1", "dev.baton.work.v1")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class BadRequest(Exception):
    """Not a valid trigger: answer 4xx and publish nothing (Pub/Sub retries, then dead-letters it)."""


def now():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def child_traceparent(parent):
    """Same trace id and flags as the parent, a new span id; a new trace without a parent."""
    match = TRACEPARENT.match(parent or "")
    trace_id = match.group(1) if match else secrets.token_hex(16)
    flags = match.group(3) if match else "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def completion_ids(key, started_by):
    """Derived from what started the execution, so a redelivery publishes the very same completion."""
    digest = hashlib.sha256(f"{NAME}\n{key}\n{started_by}".encode()).hexdigest()[:16]
    execution_id = f"exec-{digest}"
    return execution_id, f"completion:{NAME}:{key}:{execution_id}"


def read_trigger(body):
    """The push body → (attributes, data, message id); raises BadRequest for anything else."""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict):
        raise BadRequest("not a Pub/Sub push body")
    attributes = message.get("attributes") or {}
    try:
        data = json.loads(base64.b64decode(message.get("data") or "", validate=True))
    except ValueError as error:
        raise BadRequest(f"message.data is not base64 JSON: {error}") from error
    if not isinstance(data, dict):
        raise BadRequest("message.data is not a JSON object")
    message_id = attributes.get("baton_id") or attributes.get("ce-id")
    if attributes.get("ce-type") not in MESSAGE_TYPES or not message_id:
        raise BadRequest("not a Baton envelope (ce-type, ce-id)")
    for attribute in ("ce-subject", "ce-correlationid"):
        if not attributes.get(attribute):
            raise BadRequest(f"attribute {attribute} is missing")
    if data.get("key") != attributes["ce-subject"]:
        raise BadRequest("ce-subject differs from data.key")
    return attributes, data, message_id


def do_work(key, entities):
    """The processor's own work; here it only counts what it would redo."""
    return sum(len(ids) for ids in entities.values())


def handle(body, headers):
    if ENTRY:
        if not isinstance(body, dict) or not isinstance(body.get("key"), str) or not body["key"]:
            raise BadRequest('an entry request is {"key": "...", "correlation_id": "..."}')
        key = body["key"]
        correlation_id = body.get("correlation_id") or f"run-{key}-{uuid.uuid4().hex[:8]}"
        parent_traceparent = headers.get("traceparent")
        execution_id, message_id = completion_ids(key, correlation_id)
        data = {"trigger_source": "scheduler"}
        incoming = {}
    else:
        attributes, incoming, trigger_id = read_trigger(body)
        key = attributes["ce-subject"]
        correlation_id = attributes["ce-correlationid"]
        parent_traceparent = attributes.get("ce-traceparent")
        execution_id, message_id = completion_ids(key, trigger_id)
        data = {
            "trigger_source": "pubsub",
            "trigger_message_id": trigger_id,
            "parent_processor": incoming.get("emitter") or incoming.get("coordinator") or incoming.get("processor_name") or "unknown",
        }
        if attributes["ce-type"] == "dev.baton.work.v1":
            data["batch_id"] = incoming["batch_id"]
            data["entity_id"] = incoming["entity_id"]

    # Incremental trigger: redo exactly the entities upstream changed, and report them.
    incremental = incoming.get("is_incremental") is True and isinstance(incoming.get("entities_changed"), dict)
    changed = {t: list(v.get("ids", [])) for t, v in incoming.get("entities_changed", {}).items()} if incremental else {}
    started = datetime.now(timezone.utc)
    records = do_work(key, changed)
    pipeline_hash = PIPELINE_HASH or incoming.get("pipeline_hash")

    data.update(
        {
            "processor_name": NAME,
            "phase": PHASE,
            "execution_id": execution_id,
            "correlation_id": correlation_id,
            "key": key,
            "status": "success",
            "timestamp": now(),
            "record_count": records,
            "duration_seconds": (datetime.now(timezone.utc) - started).total_seconds(),
            **({"pipeline_hash": pipeline_hash} if pipeline_hash else {}),
            "metadata": {"entities_changed": changed, "is_incremental": incremental},
        }
    )
    attributes_out = {
        "ce-specversion": "1.0",
        "ce-id": message_id,
        "baton_id": message_id,
        "ce-source": f"//baton/{PIPELINE}/processors/{NAME}",
        "ce-type": "dev.baton.completion.v1",
        "ce-time": data["timestamp"],
        "ce-subject": key,
        "ce-correlationid": correlation_id,
        "ce-traceparent": child_traceparent(parent_traceparent),
        "content-type": "application/json",
    }
    publish(data, attributes_out)
    return {"published": message_id, "execution_id": execution_id}


def publish(data, attributes):
    """POST …/topics/TOPIC:publish, as google-cloud-pubsub does over REST. Raises on failure (→ 5xx)."""
    payload = {"messages": [{"data": base64.b64encode(json.dumps(data).encode()).decode(), "attributes": attributes}]}
    headers = {"content-type": "application/json"}
    if EMULATOR:
        url = f"http://{EMULATOR}/v1/projects/{PROJECT}/topics/{TOPIC}:publish"
    else:
        url = f"https://pubsub.googleapis.com/v1/projects/{PROJECT}/topics/{TOPIC}:publish"
        headers["authorization"] = f"Bearer {metadata_token()}"
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def metadata_token():
    request = urllib.request.Request(
        "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
        headers={"Metadata-Flavor": "Google"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["access_token"]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.answer(200, {"status": "ok", "processor": NAME})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
            self.answer(200, handle(body, {k.lower(): v for k, v in self.headers.items()}))
        except (ValueError, KeyError, BadRequest) as error:
            self.answer(400, {"error": str(error)})
        except (urllib.error.URLError, OSError) as error:
            # The publish (or the work) failed: Pub/Sub must redeliver, so the work is not acked.
            self.answer(500, {"error": f"retry: {error}"})

    def answer(self, status, body):
        text = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format, *args):
        sys.stderr.write(json.dumps({"severity": "INFO", "message": format % args, "processor": NAME}) + "\n")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1" if EMULATOR else "0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler)
    print(f"{NAME} listening on {server.server_address[0]}:{server.server_address[1]}", flush=True)
    server.serve_forever()
