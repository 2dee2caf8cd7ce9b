"""Calls rill's gRPC admin API from Python's grpcio, a client rill did not write, knowing
nothing of rill's .proto files: every service, method and message type is discovered
through gRPC server reflection (grpcio-reflection's descriptor database, which speaks
grpc.reflection.v1alpha; the v1 service is asked for its service list by hand).

Steps: list the services of a controller and of a broker (both reflection versions),
create a topic on the active controller (following the NOT_CONTROLLER leader hint),
list all topics, describe the topic, describe the cluster. Prints one JSON summary
line last; exits non-zero on any failure. Run by tests/tests/admin_api_python.rs.
"""

import argparse
import json
import sys
import time

import grpc
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

CONTROLLER = "rill.controller.ControllerService"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def list_v1(channel, timeout):
    """The service list from grpc.reflection.v1 (wire-identical to v1alpha's messages)."""
    call = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    for response in call(iter([request]), timeout=timeout):
        return sorted(s.name for s in response.list_services_response.service)
    raise RuntimeError("no answer from grpc.reflection.v1")


class Reflected:
    """A server's services, learnt through reflection."""

    def __init__(self, address, timeout):
        self.address = address
        self.timeout = timeout
        self.channel = grpc.insecure_channel(address)
        grpc.channel_ready_future(self.channel).result(timeout=timeout)
        self.database = ProtoReflectionDescriptorDatabase(self.channel)
        self.pool = DescriptorPool(self.database)

    def services(self):
        return sorted(self.database.get_services())

    def call(self, service, method, request, metadata_out=None):
        """Calls a unary method with `request` given as a dict (protobuf JSON mapping)."""
        descriptor = self.pool.FindServiceByName(service).FindMethodByName(method)
        request_class = message_factory.GetMessageClass(descriptor.input_type)
        response_class = message_factory.GetMessageClass(descriptor.output_type)
        stub = self.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        message = json_format.ParseDict(request, request_class())
        response = stub(message, timeout=self.timeout)
        return json_format.MessageToDict(response, preserving_proto_field_name=True)


def on_active_controller(controllers, method, request, deadline, timeout):
    """Calls ControllerService/`method` on the active controller: a standby answers
    FAILED_PRECONDITION "NOT_CONTROLLER ..." with the leader's address in the
    `rill-leader-addr` trailer, so the call moves there; an election in progress means
    waiting (bounded by `deadline`)."""
    addresses = list(controllers)
    while True:
        for address in addresses:
            try:
                return Reflected(address, timeout).call(CONTROLLER, method, request)
            except grpc.RpcError as e:
                details = e.details() or ""
                standby = e.code() == grpc.StatusCode.FAILED_PRECONDITION and details.startswith(
                    "NOT_CONTROLLER"
                )
                if not standby and e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                hint = dict(e.trailing_metadata() or ()).get("rill-leader-addr")
                log(f"{method} at {address}: {e.code().name} {details!r}; leader hint {hint!r}")
                if hint and hint not in addresses:
                    addresses.insert(0, hint)
        if time.monotonic() > deadline:
            raise RuntimeError(f"no active controller answered {method}")
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--controllers", required=True, help="HOST:PORT,... of the controllers")
    parser.add_argument("--broker", required=True, help="HOST:PORT of one broker's gRPC")
    parser.add_argument("--topic", default="py-admin")
    parser.add_argument("--timeout", type=float, default=25)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    per_call = min(10.0, args.timeout)
    controllers = [c for c in args.controllers.split(",") if c]

    controller = Reflected(controllers[0], per_call)
    broker = Reflected(args.broker, per_call)
    summary = {
        "controller_services": controller.services(),
        "controller_services_v1": list_v1(controller.channel, per_call),
        "broker_services": broker.services(),
        "broker_services_v1": list_v1(broker.channel, per_call),
    }
    # The schema itself came over reflection: name a field of a message we never compiled.
    create = controller.pool.FindMessageTypeByName("rill.controller.CreatableTopic")
    summary["creatable_topic_fields"] = [f.name for f in create.fields]
    log("services:", json.dumps(summary))

    created = on_active_controller(
        controllers,
        "CreateTopics",
        {"topics": [{"name": args.topic, "partitions": 3, "replication_factor": 2,
                     "configs": {"retention.ms": "3600000"}}]},
        deadline,
        per_call,
    )
    result = created["topics"][0]
    summary["created"] = result["name"]
    summary["create_error"] = result.get("error")

    refused = on_active_controller(
        controllers,
        "CreateTopics",
        {"topics": [{"name": "py-bad", "partitions": 1, "replication_factor": 1,
                     "configs": {"retention.ms": "soon"}}]},
        deadline,
        per_call,
    )
    summary["refused_error"] = refused["topics"][0].get("error")

    listed = on_active_controller(controllers, "DescribeTopics", {}, deadline, per_call)
    summary["listed"] = sorted(t["name"] for t in listed.get("topics", []))

    described = on_active_controller(
        controllers, "DescribeTopics", {"names": [args.topic]}, deadline, per_call
    )
    topic = described["topics"][0]
    summary["partitions"] = len(topic.get("partitions", []))
    summary["replicas_per_partition"] = sorted(
        {len(p.get("replicas", [])) for p in topic.get("partitions", [])}
    )

    cluster = on_active_controller(controllers, "DescribeCluster", {}, deadline, per_call)
    summary["cluster_id"] = cluster.get("cluster_id", "")
    summary["voters"] = len(cluster.get("voters", []))
    summary["brokers"] = sorted(b["broker_id"]["id"] for b in cluster.get("brokers", []))
    summary["ok"] = True
    print(json.dumps(summary, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
