"""Send CloudEvents to eventrunner's generic gRPC ingest service from Python.

Generate the Python code from the .proto files first (package names as in
the files: eventrunner.cloudevents.v1, eventrunner.ingest.v1):

    python -m pip install -r docs/examples/python/requirements.txt
    python -m grpc_tools.protoc -I runtime/grpcingest/cepb/proto \
        --python_out=pyout --grpc_python_out=pyout \
        eventrunner/cloudevents/v1/cloudevents.proto eventrunner/ingest/v1/ingest.proto
    PYTHONPATH=pyout python docs/examples/python/client.py \
        --key "$EVENTRUNNER_API_KEY" events.jsonl

Each input line is a CloudEvent in the structured JSON format. The client
prints one JSON line per event with its outcome (ACCEPTED once JetStream
stored it) and exits with status 1 when any event was not accepted.
"""

import argparse
import json
import os
import sys

import grpc
from google.protobuf import timestamp_pb2

from eventrunner.cloudevents.v1 import cloudevents_pb2
from eventrunner.ingest.v1 import ingest_pb2, ingest_pb2_grpc

# Attributes with a type of their own in the protobuf format; any other
# attribute is an extension, sent as a string.
URI_ATTRIBUTES = {"dataschema"}
TIMESTAMP_ATTRIBUTES = {"time"}
REQUIRED = {"id", "source", "specversion", "type"}


def to_proto(event):
    """Turns a structured-format CloudEvent (a dict) into the protobuf format."""
    pb = cloudevents_pb2.CloudEvent(
        id=event["id"],
        source=event["source"],
        spec_version=event.get("specversion", "1.0"),
        type=event["type"],
    )
    for name, value in event.items():
        if name in REQUIRED or name in ("data", "data_base64"):
            continue
        attr = pb.attributes[name]
        if name in TIMESTAMP_ATTRIBUTES:
            ts = timestamp_pb2.Timestamp()
            ts.FromJsonString(value)
            attr.ce_timestamp.CopyFrom(ts)
        elif name in URI_ATTRIBUTES:
            attr.ce_uri = value
        elif isinstance(value, bool):
            attr.ce_boolean = value
        elif isinstance(value, int):
            attr.ce_integer = value
        else:
            attr.ce_string = str(value)
    if "data" in event:
        pb.text_data = json.dumps(event["data"], separators=(",", ":"))
    return pb


def read_events(paths):
    files = [open(p, encoding="utf-8") for p in paths] if paths else [sys.stdin]
    for f in files:
        for line in f:
            if line.strip():
                yield json.loads(line)


def ack_line(ack):
    status = ingest_pb2.Ack.Status.Name(ack.status).removeprefix("STATUS_")
    out = {"id": ack.id, "source": ack.source, "status": status}
    if ack.error:
        out["error"] = ack.error
    if ack.field:
        out["field"] = ack.field
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("events", nargs="*", help="JSON Lines files of CloudEvents (stdin when none)")
    parser.add_argument("--addr", default="127.0.0.1:9090", help="eventrunner's gRPC address (serve --grpc-addr)")
    parser.add_argument("--key", default=os.environ.get("EVENTRUNNER_API_KEY"), help="the tenant's API key (default: $EVENTRUNNER_API_KEY)")
    parser.add_argument("--stream", action="store_true", help="send over one Stream call instead of a Publish batch")
    args = parser.parse_args()
    if not args.key:
        parser.error("an API key is needed: --key or $EVENTRUNNER_API_KEY")

    events = [to_proto(e) for e in read_events(args.events)]
    metadata = [("authorization", "Bearer " + args.key)]
    with grpc.insecure_channel(args.addr) as channel:
        ingest = ingest_pb2_grpc.CloudEventIngestStub(channel)
        if args.stream:
            # Acks come in the order the events were sent.
            acks = list(ingest.Stream(iter(events), metadata=metadata, timeout=60))
        else:
            batch = cloudevents_pb2.CloudEventBatch(events=events)
            acks = ingest.Publish(batch, metadata=metadata, timeout=60).acks
    failed = 0
    for ack in acks:
        line = ack_line(ack)
        failed += line["status"] != "ACCEPTED"
        print(json.dumps(line))
    return 1 if failed or len(acks) != len(events) else 0


if __name__ == "__main__":
    sys.exit(main())
