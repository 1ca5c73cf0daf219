"""Create govsync's queues, event buses, rules, tables, registry items, secrets and email identity on the local moto server.

Everything comes from local/wiring.json, the same file the infra templates are checked against, so the
local stack and a deployment cannot drift apart. Idempotent: running it twice changes nothing.

Usage: bootstrap.py --endpoint http://127.0.0.1:PORT [--region us-east-1] [--wiring local/wiring.json]
Prints the created resources as JSON on stdout.
"""

import argparse
import json
import pathlib
import sys

import boto3
from botocore.config import Config

HERE = pathlib.Path(__file__).resolve().parent


def client(service, endpoint, region):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def create_queues(sqs, queues):
    created = {}
    for queue in queues:
        dlq_url = sqs.create_queue(
            QueueName=queue["dead_letter_queue"],
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue["max_receive_count"])}
        url = sqs.create_queue(
            QueueName=queue["name"],
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": str(queue["content_based_deduplication"]).lower(),
                "VisibilityTimeout": str(queue["visibility_timeout_seconds"]),
                "MessageRetentionPeriod": str(queue["message_retention_seconds"]),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[queue["name"]] = {"url": url, "arn": arn, "dlq_url": dlq_url, "dlq_arn": dlq_arn}
    return created


def create_ingest_queues(sqs, queues):
    """Standard queues the rules feed; the registry-relay (locally: the runner) moves them on."""
    created = {}
    for queue in queues:
        dlq_url = sqs.create_queue(
            QueueName=queue["dead_letter_queue"],
            Attributes={"MessageRetentionPeriod": str(queue["message_retention_seconds"])},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue["max_receive_count"])}
        url = sqs.create_queue(
            QueueName=queue["name"],
            Attributes={
                "VisibilityTimeout": str(queue["visibility_timeout_seconds"]),
                "MessageRetentionPeriod": str(queue["message_retention_seconds"]),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[queue["name"]] = {"url": url, "arn": arn, "dlq_url": dlq_url, "dlq_arn": dlq_arn}
    return created


def create_event_bus(events, name):
    """A bus of govsync's own (the spokes' bus, the decision bus), unless it exists already."""
    existing = {bus["Name"] for bus in events.list_event_buses()["EventBuses"]}
    if name not in existing:
        events.create_event_bus(Name=name)
    return name


def create_rules(events, rules, queues, spoke_bus=None):
    """Each rule on the default bus and, as the templates declare them, on the spokes' bus."""
    buses = ["default"]
    if spoke_bus:
        buses.append(create_event_bus(events, spoke_bus))
    created = {}
    for bus in buses:
        for rule in rules:
            events.put_rule(
                Name=rule["name"],
                EventBusName=bus,
                EventPattern=json.dumps(rule["event_pattern"]),
                State="ENABLED",
                Description=rule["description"],
            )
            target = queues[rule["target_queue"]]
            events.put_targets(
                Rule=rule["name"],
                EventBusName=bus,
                Targets=[{"Id": rule["target_queue"].replace(".", "-"), "Arn": target["arn"]}],
            )
            created[f"{bus}/{rule['name']}"] = rule["target_queue"]
    return created


def create_tables(dynamodb, tables):
    existing = set(dynamodb.list_tables()["TableNames"])
    for table in tables:
        if table["name"] in existing:
            continue
        keys = [{"AttributeName": table["partition_key"], "KeyType": "HASH"}]
        attributes = [{"AttributeName": table["partition_key"], "AttributeType": "S"}]
        if "sort_key" in table:
            keys.append({"AttributeName": table["sort_key"], "KeyType": "RANGE"})
            attributes.append({"AttributeName": table["sort_key"], "AttributeType": "S"})
        dynamodb.create_table(
            TableName=table["name"],
            KeySchema=keys,
            AttributeDefinitions=attributes,
            BillingMode="PAY_PER_REQUEST",
        )
        if "ttl_attribute" in table:
            dynamodb.update_time_to_live(
                TableName=table["name"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table["ttl_attribute"]},
            )
    return [table["name"] for table in tables]


def put_registries(dynamodb, table, registries):
    """One item per governed registry (account, region, business_entity, optional role_arn)."""
    for registry in registries:
        dynamodb.put_item(
            TableName=table,
            Item={name: {"S": value} for name, value in registry.items()},
        )
    return [f"{registry['account']}/{registry['region']}" for registry in registries]


def create_secrets(secretsmanager, secrets):
    created = {}
    for secret in secrets:
        try:
            arn = secretsmanager.create_secret(
                Name=secret["name"], Description=secret["description"], SecretString=secret["local_value"]
            )["ARN"]
        except secretsmanager.exceptions.ResourceExistsException:
            arn = secretsmanager.put_secret_value(SecretId=secret["name"], SecretString=secret["local_value"])[
                "ARN"
            ]
        created[secret["name"]] = arn
    return created


def create_email_identities(sesv2, identities):
    for identity in identities:
        try:
            sesv2.create_email_identity(EmailIdentity=identity)
        except sesv2.exceptions.AlreadyExistsException:
            pass
    return identities


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:4566")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--wiring", default=str(HERE / "wiring.json"))
    args = parser.parse_args()

    wiring = json.loads(pathlib.Path(args.wiring).read_text())
    if wiring.get("version") != 1:
        sys.exit(f"bootstrap: {args.wiring}: unsupported wiring version {wiring.get('version')!r}")

    queues = create_queues(client("sqs", args.endpoint, args.region), wiring["queues"])
    ingest = create_ingest_queues(client("sqs", args.endpoint, args.region), wiring["ingest_queues"])
    summary = {
        "queues": queues,
        "ingest_queues": ingest,
        "rules": create_rules(
            client("events", args.endpoint, args.region), wiring["rules"], ingest, wiring.get("spoke_bus")
        ),
        # approval-propagation's governance decision events (no rule of govsync's reads it).
        "decision_bus": (
            create_event_bus(client("events", args.endpoint, args.region), wiring["decision_bus"])
            if wiring.get("decision_bus")
            else None
        ),
        "tables": create_tables(client("dynamodb", args.endpoint, args.region), wiring["tables"]),
        "registries": put_registries(
            client("dynamodb", args.endpoint, args.region), wiring["registries_table"], wiring["registries"]
        ),
        "secrets": create_secrets(client("secretsmanager", args.endpoint, args.region), wiring["secrets"]),
        "email_identities": create_email_identities(
            client("sesv2", args.endpoint, args.region), wiring["email_identities"]
        ),
    }
    json.dump(summary, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
