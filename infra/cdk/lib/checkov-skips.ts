// The same checkov exceptions, with the same reasons, that infra/template.yaml carries as `checkov:skip` metadata,
// so `checkov` passes on the synthesized template as it does on the SAM one.
import { CfnResource, IAspect } from 'aws-cdk-lib';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';

interface Skip {
  readonly id: string;
  readonly comment: string;
}

const FUNCTION_SKIPS: Skip[] = [
  { id: 'CKV_AWS_117', comment: 'Calls the governance SaaS and public AWS endpoints only; a VPC would add NAT cost and no isolation.' },
  {
    id: 'CKV_AWS_115',
    comment: 'Concurrency is bounded by the event source (FIFO groups, SQS MaximumConcurrency, API throttling, one scheduled run); reserving it would fail in accounts with the default 10-unit pool.',
  },
  { id: 'CKV_AWS_173', comment: 'Environment holds only names, URLs and modes; secrets are read from Secrets Manager at cold start.' },
];
const SYNCHRONOUS_FUNCTION_SKIP: Skip = {
  id: 'CKV_AWS_116',
  comment: 'Synchronous or queue-triggered, so failures return to the FIFO queue and its DLQ (or to the API caller); a function DLQ applies to async invocations only.',
};

const SKIPS_BY_TYPE: Record<string, Skip[]> = {
  'AWS::SQS::Queue': [
    {
      id: 'CKV_AWS_27',
      comment: 'Encrypted with SSE-SQS (SqsManagedSseEnabled); checkov only recognises a KMS key, and EventBridge cannot send to a queue under the AWS managed aws/sqs key.',
    },
  ],
  'AWS::DynamoDB::Table': [
    { id: 'CKV_AWS_119', comment: 'Encrypted at rest with the AWS managed DynamoDB key (SSEEnabled); a customer key adds cost and key-policy coupling without a consumer that needs it.' },
  ],
  'AWS::SecretsManager::Secret': [
    { id: 'CKV_AWS_149', comment: "Encrypted with the AWS managed Secrets Manager key; only govsync's own roles read it." },
  ],
  'AWS::Logs::LogGroup': [
    { id: 'CKV_AWS_158', comment: 'Logs never carry secrets (redacted Secret type, signatures not logged); CloudWatch Logs encrypts at rest by default.' },
  ],
  'AWS::SNS::Topic': [
    { id: 'CKV_AWS_26', comment: 'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key; alarm texts carry no data.' },
  ],
};

export class CheckovSkips implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource)) return;
    let skips = SKIPS_BY_TYPE[node.cfnResourceType];
    if (node instanceof CfnFunction) {
      skips = node.deadLetterConfig === undefined ? [...FUNCTION_SKIPS, SYNCHRONOUS_FUNCTION_SKIP] : FUNCTION_SKIPS;
    }
    if (skips) node.addMetadata('checkov', { skip: skips });
  }
}
