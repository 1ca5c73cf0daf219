// The govsync hub, resource for resource the same as infra/template.yaml (names, patterns, limits, policies).
// local/tests/test_wiring_matches_template.py checks the synthesized template against local/wiring.json too.
import * as fs from 'fs';
import * as path from 'path';
import {
  Annotations,
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  CfnRule,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
} from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

export interface GovsyncStackProps extends StackProps {
  /** Directory with cargo lambda's output, one sub-directory per function binary. */
  readonly lambdaDir: string;
}

const FUNCTIONS = [
  'registry-events',
  'governance-webhook',
  'approval-propagation',
  'decommission',
  'reconciler',
  'governance-poller',
  'metrics-relay',
  'registry-relay',
  'model-link',
] as const;
type FunctionName = (typeof FUNCTIONS)[number];

// The rules of local/wiring.json, verbatim.
const REGISTRY_STATE_CHANGE: events.EventPattern = {
  source: ['aws.sagemaker'],
  detailType: ['SageMaker Model Package State Change'],
};
const REGISTRY_API_CALLS: events.EventPattern = {
  source: ['aws.sagemaker'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['sagemaker.amazonaws.com'],
    eventName: [
      'CreateModelPackageGroup',
      'CreateModelPackage',
      'UpdateModelPackage',
      'PutModelPackageGroupPolicy',
      'DeleteModelPackageGroupPolicy',
    ],
  },
};
const DECOMMISSION: events.EventPattern = {
  source: ['aws.sagemaker'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['sagemaker.amazonaws.com'],
    eventName: ['DeleteModelPackage', 'DeleteModelPackageGroup'],
  },
};

const RATE_PATTERN = '^rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)$';

export class GovsyncStack extends Stack {
  constructor(scope: Construct, id: string, props: GovsyncStackProps) {
    super(scope, id, props);

    // ------------------------------------------------------------ parameters (as in template.yaml)
    const governanceBaseUrl = new CfnParameter(this, 'GovernanceBaseUrl', {
      description: 'Governance console (or CP4D) root, https only; the API prefix is appended.',
      allowedPattern: '^https://[^\\s]+$',
    });
    const governanceAuthMode = new CfnParameter(this, 'GovernanceAuthMode', {
      default: 'mcsp',
      allowedValues: ['mcsp', 'iam', 'cp4d', 'basic'],
    });
    const governanceInstanceId = new CfnParameter(this, 'GovernanceInstanceId', {
      default: '',
      allowedPattern: '^[A-Za-z0-9:_.-]*$',
      description: "mcsp mode: the watsonx.governance service instance id (IBM Cloud's default token URL is built from it); mcsp needs this or GovernanceTokenUrl.",
    });
    const governanceTokenUrl = new CfnParameter(this, 'GovernanceTokenUrl', { default: '' });
    const governanceUsername = new CfnParameter(this, 'GovernanceUsername', { default: '' });
    const governanceCp4dInstance = new CfnParameter(this, 'GovernanceCp4dInstance', {
      default: '',
      allowedPattern: '^[A-Za-z0-9_-]*$',
      description: 'cp4d mode: the OpenPages instance name; the API is then under /openpages-<instance>-opgrc/api/v2. cp4d needs this or GovernanceApiPrefix.',
    });
    const governanceApiPrefix = new CfnParameter(this, 'GovernanceApiPrefix', {
      default: '',
      allowedPattern: '^(|/[A-Za-z0-9/._-]+)$',
      description: 'The API prefix itself, when it is neither /opgrc/api/v2 (the default) nor the CP4D form.',
    });
    const webhookObjectIdPointer = new CfnParameter(this, 'WebhookObjectIdPointer', { default: '', allowedPattern: '^(|/.*)$' });
    const decommissionNoteField = new CfnParameter(this, 'DecommissionNoteField', { default: '' });
    const metricBreachStatus = new CfnParameter(this, 'MetricBreachStatus', { default: '' });
    const gateMode = new CfnParameter(this, 'GateMode', { default: 'enforce', allowedValues: ['enforce', 'alert', 'off'] });
    const spokeRoleName = new CfnParameter(this, 'SpokeRoleName', {
      default: 'govsync-registry-access',
      allowedPattern: '^[A-Za-z0-9+=,.@_-]{1,64}$',
    });
    const spokeExternalId = new CfnParameter(this, 'SpokeExternalId', {
      noEcho: true,
      minLength: 16,
      allowedPattern: '^[A-Za-z0-9+=,.@:/-]{16,1224}$',
    });
    const spokeAccountIds = new CfnParameter(this, 'SpokeAccountIds', { type: 'CommaDelimitedList', default: '' });
    const spokeOrganizationId = new CfnParameter(this, 'SpokeOrganizationId', {
      default: '',
      allowedPattern: '^(|o-[a-z0-9]{10,32})$',
    });
    const writerRoleArns = new CfnParameter(this, 'WriterRoleArns', { default: '' });
    const reconcileSchedule = new CfnParameter(this, 'ReconcileSchedule', { default: 'rate(1 hour)', allowedPattern: RATE_PATTERN });
    const pollSchedule = new CfnParameter(this, 'PollSchedule', { default: 'rate(5 minutes)', allowedPattern: RATE_PATTERN });
    const pollState = new CfnParameter(this, 'PollState', { default: 'ENABLED', allowedValues: ['ENABLED', 'DISABLED'] });
    const webhookRateLimit = new CfnParameter(this, 'WebhookRateLimit', { type: 'Number', default: 20, minValue: 1 });
    const webhookBurstLimit = new CfnParameter(this, 'WebhookBurstLimit', { type: 'Number', default: 40, minValue: 1 });
    // Optional: where the Models' links point (the organisation's front or custom domain) instead of the API's own route.
    const modelLinkBaseUrl = new CfnParameter(this, 'ModelLinkBaseUrl', {
      default: '',
      maxLength: 512,
      allowedPattern: '^(|https://[^?#\\s]+)$',
      constraintDescription: "an https:// URL without a query or fragment (at most 512 characters), or empty for the API's own /models/link.",
      description:
        "Where the Models' links point: the organisation's front or custom domain, ending in the path that reaches GET /models/link (the link's query is appended and must reach the API unchanged). Empty = the API's own /models/link. registry-events and the reconciler both write links on this base.",
    });
    // Optional: GET /models/link then requires a JWT from the organisation's identity provider (both or neither).
    const modelLinkJwtIssuer = new CfnParameter(this, 'ModelLinkJwtIssuer', {
      default: '',
      allowedPattern: '^(|https://[^\\s,]+)$',
      constraintDescription: 'the https:// OIDC issuer URL (the iss of its tokens), or empty for no authorizer.',
      description:
        'Optional OIDC issuer (IBM Security Verify, Okta, Entra ID, Cognito, ...) whose JWT GET /models/link then requires (API Gateway JWT authorizer, Authorization header); with ModelLinkJwtAudience, both or neither. Empty = no authorizer, the signed link alone opens it (DEPLOYMENT.md, "Who can open a link").',
    });
    const modelLinkJwtAudience = new CfnParameter(this, 'ModelLinkJwtAudience', {
      default: '',
      allowedPattern: '^(|[^,\\s]+(,[^,\\s]+)*)$',
      constraintDescription: 'comma-separated audiences without spaces, or empty.',
      description: 'The audiences (aud, or client_id) a token for GET /models/link must carry, comma-separated; with ModelLinkJwtIssuer, both or neither.',
    });
    // An issuer without audiences (or the other way round) would silently leave the model-link route open.
    for (const [given, needed] of [
      ['ModelLinkJwtIssuer', 'ModelLinkJwtAudience'],
      ['ModelLinkJwtAudience', 'ModelLinkJwtIssuer'],
    ] as const) {
      const value = { ModelLinkJwtIssuer: modelLinkJwtIssuer, ModelLinkJwtAudience: modelLinkJwtAudience };
      new CfnRule(this, `${given}Needs${needed.replace('ModelLinkJwt', '')}`, {
        ruleCondition: Fn.conditionNot(Fn.conditionEquals(value[given].valueAsString, '')),
        assertions: [
          {
            assert: Fn.conditionNot(Fn.conditionEquals(value[needed].valueAsString, '')),
            assertDescription: `${given} needs ${needed} (both or neither); with only one the model-link route has no authorizer.`,
          },
        ],
      });
    }
    const architecture = new CfnParameter(this, 'Architecture', { default: 'arm64', allowedValues: ['arm64', 'x86_64'] });
    const notificationSender = new CfnParameter(this, 'NotificationSender', {
      default: '',
      allowedPattern: '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      constraintDescription: 'an email address (the From of the data-science emails), or empty for no email.',
    });
    // The send permission is granted on the verified identity the sender belongs to (a domain or the address).
    const notificationSenderIdentity = new CfnParameter(this, 'NotificationSenderIdentity', {
      default: '',
      allowedPattern: '^$|^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$|^([a-zA-Z0-9-]+\\.)+[a-zA-Z]{2,}$',
      constraintDescription: 'the verified SES identity the sender belongs to, a domain or an address.',
    });
    new CfnRule(this, 'SenderNeedsItsIdentity', {
      ruleCondition: Fn.conditionNot(Fn.conditionEquals(notificationSender.valueAsString, '')),
      assertions: [
        {
          assert: Fn.conditionNot(Fn.conditionEquals(notificationSenderIdentity.valueAsString, '')),
          assertDescription: 'NotificationSender needs NotificationSenderIdentity, the verified SES domain or address it belongs to.',
        },
      ],
    });
    const alarmEmail = new CfnParameter(this, 'AlarmEmail', { default: '' });
    const logRetentionDays = new CfnParameter(this, 'LogRetentionDays', {
      type: 'Number',
      default: '30',
      allowedValues: ['7', '14', '30', '60', '90', '180', '365', '731', '1827', '3653'],
    });

    const hasAlarmEmail = new CfnCondition(this, 'HasAlarmEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(alarmEmail.valueAsString, '')),
    });
    const hasSender = new CfnCondition(this, 'HasSender', {
      expression: Fn.conditionNot(Fn.conditionEquals(notificationSender.valueAsString, '')),
    });
    const hasSpokeAccounts = new CfnCondition(this, 'HasSpokeAccounts', {
      expression: Fn.conditionNot(Fn.conditionEquals(Fn.join('', spokeAccountIds.valueAsList), '')),
    });
    const hasSpokeOrganization = new CfnCondition(this, 'HasSpokeOrganization', {
      expression: Fn.conditionNot(Fn.conditionEquals(spokeOrganizationId.valueAsString, '')),
    });
    // GET /models/link requires a JWT from the organisation's identity provider (both parameters given).
    const hasModelLinkAuthorizer = new CfnCondition(this, 'HasModelLinkAuthorizer', {
      expression: Fn.conditionAnd(
        Fn.conditionNot(Fn.conditionEquals(modelLinkJwtIssuer.valueAsString, '')),
        Fn.conditionNot(Fn.conditionEquals(modelLinkJwtAudience.valueAsString, '')),
      ),
    });
    // The Models' links point at the organisation's front (ModelLinkBaseUrl) instead of the API's own URL.
    const hasModelLinkBaseUrl = new CfnCondition(this, 'HasModelLinkBaseUrl', {
      expression: Fn.conditionNot(Fn.conditionEquals(modelLinkBaseUrl.valueAsString, '')),
    });

    // ------------------------------------------------------------ queues (local/wiring.json "queues")
    // Visibility = 6 x the consumers' 60 s timeout. SSE-SQS: EventBridge cannot send into an aws/sqs-encrypted queue.
    const fifoPair = (name: string, logicalPrefix: string) => {
      const dlq = new sqs.Queue(this, `${logicalPrefix}Dlq`, {
        queueName: `${name}-dlq.fifo`,
        fifo: true,
        contentBasedDeduplication: true,
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      NagSuppressions.addResourceSuppressions(dlq, [
        { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of ' + `${name}.fifo.` },
      ]);
      const queue = new sqs.Queue(this, `${logicalPrefix}Queue`, {
        queueName: `${name}.fifo`,
        fifo: true,
        contentBasedDeduplication: true,
        visibilityTimeout: Duration.seconds(360),
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: dlq, maxReceiveCount: 35 },
      });
      return { queue, dlq };
    };
    const registryEvents = fifoPair('registry-events', 'RegistryEvents');
    const governanceEvents = fifoPair('governance-events', 'GovernanceEvents');
    const decommission = fifoPair('decommission', 'Decommission');

    // Ingest queues (local/wiring.json "ingest_queues"): rule targets can set only a fixed MessageGroupId, so
    // rules put events here and registry-relay re-sends each under its object's group. Visibility = 6 x 10 s.
    const ingestPair = (name: string, logicalPrefix: string) => {
      const dlq = new sqs.Queue(this, `${logicalPrefix}IngestDlq`, {
        queueName: `${name}-ingest-dlq`,
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      NagSuppressions.addResourceSuppressions(dlq, [
        { id: 'AwsSolutions-SQS3', reason: `This queue is itself the dead-letter queue of ${name}-ingest.` },
      ]);
      const queue = new sqs.Queue(this, `${logicalPrefix}IngestQueue`, {
        queueName: `${name}-ingest`,
        visibilityTimeout: Duration.seconds(60),
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: dlq, maxReceiveCount: 35 },
      });
      return { queue, dlq };
    };
    const registryIngest = ingestPair('registry-events', 'RegistryEvents');
    const decommissionIngest = ingestPair('decommission', 'Decommission');

    // Failed asynchronous invocations after Lambda's retries (Lambda cannot use a FIFO DLQ). Not in wiring.json.
    const asyncFailures = new sqs.Queue(this, 'AsyncFailuresQueue', {
      queueName: 'govsync-async-failures',
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    NagSuppressions.addResourceSuppressions(asyncFailures, [
      { id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the asynchronously invoked functions.' },
    ]);

    // Events a govsync rule could not deliver to its target after EventBridge's retries: kept with
    // EventBridge's ERROR_CODE / ERROR_MESSAGE / RULE_ARN attributes instead of dropped (the targets add the
    // queue policy admitting their rule). Not in wiring.json.
    const eventDeliveryDlq = new sqs.Queue(this, 'EventDeliveryDlq', {
      queueName: 'govsync-event-delivery-dlq',
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    NagSuppressions.addResourceSuppressions(eventDeliveryDlq, [
      { id: 'AwsSolutions-SQS3', reason: "This queue is itself the dead-letter queue of govsync's rule targets." },
    ]);

    // ------------------------------------------------------------ rules (local/wiring.json "rules")
    // Spokes forward onto a bus of govsync's own (local/wiring.json "spoke_bus"), whose policy admits only the
    // listed accounts' forwarding roles and the event types govsync reads; each rule reads both buses.
    const spokeBus = new events.EventBus(this, 'SpokeEventBus', { eventBusName: 'govsync-hub' });
    // No fixed MessageGroupId: each rule feeds an ingest queue and registry-relay groups per object.
    const queueRule = (logicalId: string, ruleName: string, description: string, eventPattern: events.EventPattern, queue: sqs.IQueue) => {
      const target = new eventTargets.SqsQueue(queue, { deadLetterQueue: eventDeliveryDlq, retryAttempts: 185, maxEventAge: Duration.hours(24) });
      new events.Rule(this, logicalId, { ruleName, description, eventPattern, targets: [target] });
      new events.Rule(this, logicalId.replace(/Rule$/, 'FromSpokesRule'), {
        ruleName,
        description: `(from the spokes) ${description}`,
        eventPattern,
        eventBus: spokeBus,
        targets: [target],
      });
    };
    queueRule('RegistryStateChangeRule', 'govsync-registry-state-change', "SageMaker's own model package state-change event (F2, F3).", REGISTRY_STATE_CHANGE, registryIngest.queue);
    queueRule('RegistryApiCallsRule', 'govsync-registry-api-calls', 'CloudTrail records of registry changes that SageMaker emits no event for (F2, F3).', REGISTRY_API_CALLS, registryIngest.queue);
    queueRule('DecommissionRule', 'govsync-decommission', 'Deletions in the registry, which decommission in governance (F5).', DECOMMISSION, decommissionIngest.queue);

    // Only each listed spoke account's forwarding role (spoke.yaml ForwardRole, named per region) may put
    // events, not anyone in the account or the organisation, and only the event types the rules read; with
    // SpokeOrganizationId set, the accounts must also belong to it.
    const forwarderArn = `arn:${Aws.PARTITION}:iam::*:role/govsync/govsync-event-forwarder-*`;
    const consumedEvents = {
      'events:source': ['aws.sagemaker', 'govsync.metrics'],
      'events:detail-type': [
        'SageMaker Model Package State Change',
        'AWS API Call via CloudTrail',
        'SageMaker Processing Job State Change',
        'Model Metric Recorded',
      ],
    };
    const spokeAccountsPolicy = new events.CfnEventBusPolicy(this, 'SpokeAccountsBusPolicy', {
      eventBusName: spokeBus.eventBusName,
      statementId: 'govsync-spoke-accounts',
      statement: {
        Effect: 'Allow',
        Principal: { AWS: spokeAccountIds.valueAsList },
        Action: 'events:PutEvents',
        Resource: spokeBus.eventBusArn,
        Condition: Fn.conditionIf(
          hasSpokeOrganization.logicalId,
          {
            ArnLike: { 'aws:PrincipalArn': forwarderArn },
            StringEquals: { 'aws:PrincipalOrgID': spokeOrganizationId.valueAsString, ...consumedEvents },
          },
          { ArnLike: { 'aws:PrincipalArn': forwarderArn }, StringEquals: consumedEvents },
        ),
      },
    });
    spokeAccountsPolicy.cfnOptions.condition = hasSpokeAccounts;

    // Governance decision events (local/wiring.json "decision_bus"): approval-propagation puts one event per
    // governance decision it applies to SageMaker (source govsync, detail-type "govsync Governance Decision
    // Applied"); deployment pipelines subscribe with rules of their own on this bus (DEPLOYMENT.md).
    const decisionBus = new events.EventBus(this, 'DecisionBus', { eventBusName: 'govsync-decisions' });

    // Optional (DeploymentPipelineKind, off by default): an approval into DeploymentPipelineStage starts the
    // deployment pipeline. A SageMaker Pipeline gets the package ARN as its ModelPackageArn parameter
    // (EventBridge's dynamic path parameters); CodePipeline takes no input. Undelivered starts go to
    // eventDeliveryDlq, whose policy admits this rule by its ARN.
    const deploymentPipelineKind = new CfnParameter(this, 'DeploymentPipelineKind', {
      default: 'none',
      allowedValues: ['none', 'sagemaker-pipeline', 'codepipeline'],
      description: 'Optional deployment pipeline govsync starts when governance approves a model package into DeploymentPipelineStage (DEPLOYMENT.md, "Driving a deployment pipeline"); none = no rule, no role.',
    });
    const deploymentPipelineArn = new CfnParameter(this, 'DeploymentPipelineArn', {
      default: '',
      allowedPattern:
        '^$|^arn:aws[a-z-]*:(sagemaker:[a-z0-9-]+:[0-9]{12}:pipeline/[^/]+|codepipeline:[a-z0-9-]+:[0-9]{12}:[^:/]+)$',
      constraintDescription:
        'a SageMaker Pipeline ARN (arn:aws:sagemaker:<region>:<account>:pipeline/<name>) or a CodePipeline ARN, or empty.',
      description: 'The pipeline DeploymentPipelineKind names; required unless DeploymentPipelineKind is none.',
    });
    const deploymentPipelineStage = new CfnParameter(this, 'DeploymentPipelineStage', {
      default: 'PreProduction',
      minLength: 1,
      maxLength: 63,
      description: 'The lifecycle stage (detail.lifecycle.stage of the decision event) whose approval starts the deployment pipeline.',
    });
    // A pipeline kind without its ARN would silently deploy no rule.
    new CfnRule(this, 'DeploymentPipelineNeedsArn', {
      ruleCondition: Fn.conditionNot(Fn.conditionEquals(deploymentPipelineKind.valueAsString, 'none')),
      assertions: [
        {
          assert: Fn.conditionNot(Fn.conditionEquals(deploymentPipelineArn.valueAsString, '')),
          assertDescription: 'DeploymentPipelineKind other than none needs DeploymentPipelineArn, the pipeline to start.',
        },
      ],
    });
    const hasSageMakerPipeline = new CfnCondition(this, 'HasSageMakerPipeline', {
      expression: Fn.conditionAnd(
        Fn.conditionEquals(deploymentPipelineKind.valueAsString, 'sagemaker-pipeline'),
        Fn.conditionNot(Fn.conditionEquals(deploymentPipelineArn.valueAsString, '')),
      ),
    });
    const hasCodePipeline = new CfnCondition(this, 'HasCodePipeline', {
      expression: Fn.conditionAnd(
        Fn.conditionEquals(deploymentPipelineKind.valueAsString, 'codepipeline'),
        Fn.conditionNot(Fn.conditionEquals(deploymentPipelineArn.valueAsString, '')),
      ),
    });
    const hasDeploymentPipeline = new CfnCondition(this, 'HasDeploymentPipeline', {
      expression: Fn.conditionOr(hasSageMakerPipeline, hasCodePipeline),
    });
    const deploymentPipelineRuleRole = new iam.CfnRole(this, 'DeploymentPipelineRuleRole', {
      roleName: 'govsync-deployment-pipeline-rule',
      path: '/govsync/',
      assumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
          },
        ],
      },
      policies: [
        {
          policyName: 'deployment-pipeline-rule',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [
              Fn.conditionIf(
                hasSageMakerPipeline.logicalId,
                { Sid: 'StartPipeline', Effect: 'Allow', Action: 'sagemaker:StartPipelineExecution', Resource: deploymentPipelineArn.valueAsString },
                { Sid: 'StartPipeline', Effect: 'Allow', Action: 'codepipeline:StartPipelineExecution', Resource: deploymentPipelineArn.valueAsString },
              ),
            ],
          },
        },
      ],
    });
    deploymentPipelineRuleRole.cfnOptions.condition = hasDeploymentPipeline;
    const deploymentPipelineRuleName = 'govsync-deployment-pipeline';
    const deploymentPipelineRule = new events.CfnRule(this, 'DeploymentPipelineRule', {
      eventBusName: decisionBus.eventBusName,
      name: deploymentPipelineRuleName,
      description: 'Starts the deployment pipeline when governance approves a model package into DeploymentPipelineStage.',
      state: 'ENABLED',
      eventPattern: {
        source: ['govsync'],
        'detail-type': ['govsync Governance Decision Applied'],
        detail: { approval_status: ['Approved'], lifecycle: { stage: [deploymentPipelineStage.valueAsString] } },
      },
      targets: [
        {
          id: 'deployment-pipeline',
          arn: deploymentPipelineArn.valueAsString,
          roleArn: deploymentPipelineRuleRole.attrArn,
          sageMakerPipelineParameters: Fn.conditionIf(
            hasSageMakerPipeline.logicalId,
            { PipelineParameterList: [{ Name: 'ModelPackageArn', Value: '$.detail.package_arn' }] },
            Aws.NO_VALUE,
          ),
          retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
          deadLetterConfig: { arn: eventDeliveryDlq.queueArn },
        },
      ],
    });
    deploymentPipelineRule.cfnOptions.condition = hasDeploymentPipeline;
    // By the rule's ARN, not a reference: the rule may not exist, the queue policy always does.
    eventDeliveryDlq.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DeploymentPipelineRuleDeadLetter',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [eventDeliveryDlq.queueArn],
        conditions: {
          ArnEquals: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/govsync-decisions/${deploymentPipelineRuleName}`,
          },
        },
      }),
    );

    // Redeploying after deleting an earlier stack: its retained tables and secrets are used, not created.
    const reuseRetainedData = new CfnParameter(this, 'ReuseRetainedData', {
      default: 'false',
      allowedValues: ['false', 'true'],
      description:
        'true when redeploying after deleting an earlier govsync stack here: its retained tables and secrets are used as they are instead of created (which would fail on the names).',
    });
    const createRetainedData = new CfnCondition(this, 'CreateRetainedData', {
      expression: Fn.conditionEquals(reuseRetainedData.valueAsString, 'false'),
    });

    // ------------------------------------------------------------ tables (local/wiring.json "tables")
    // Everything refers to a table or secret by its fixed name, never by reference, so the stack works the
    // same whether it created them or found them retained.
    const table = (logicalId: string, tableName: string, partitionKey: string, sortKey?: string, timeToLiveAttribute?: string) => {
      const created = new dynamodb.Table(this, logicalId, {
        tableName,
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: sortKey ? { name: sortKey, type: dynamodb.AttributeType.STRING } : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      (created.node.defaultChild as dynamodb.CfnTable).cfnOptions.condition = createRetainedData;
      return dynamodb.Table.fromTableName(this, `${logicalId}ByName`, tableName);
    };
    const idempotencyTable = table('IdempotencyTable', 'govsync-idempotency', 'id', undefined, 'expiration');
    const linksTable = table('LinksTable', 'govsync-links', 'pk', 'sk', 'expiration');
    const cursorsTable = table('CursorsTable', 'govsync-cursors', 'id');
    // One item per governed registry, read at cold start: adding a registry is one put-item (no fixed limit).
    const registriesTable = table('RegistriesTable', 'govsync-registries', 'account', 'region');

    // ------------------------------------------------------------ secrets (local/wiring.json "secrets")
    // Random placeholders; the operator puts the real values (infra/DEPLOYMENT.md). No value in the template.
    const apiKeySecret = new secretsmanager.Secret(this, 'GovernanceApiKeySecret', {
      secretName: 'govsync/governance-api-key',
      description: 'API key (or password) govsync uses to authenticate to the governance platform.',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const webhookSecrets = new secretsmanager.Secret(this, 'WebhookSigningSecrets', {
      secretName: 'govsync/webhook-signing-secrets',
      description: 'The current and previous webhook signing secrets (rotation), as JSON {"current", "previous"}.',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ previous: '' }),
        generateStringKey: 'current',
        passwordLength: 48,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(apiKeySecret, [
      { id: 'AwsSolutions-SMG4', reason: 'The key is issued and rotated by the governance platform; the operator puts each new value, no rotation function can mint one.' },
    ]);
    NagSuppressions.addResourceSuppressions(webhookSecrets, [
      { id: 'AwsSolutions-SMG4', reason: 'Rotation is two-phase with the governance platform (new current, old kept as previous) and done by the operator.' },
    ]);
    // The HMAC keys that sign the govsync model links written on governance Models (GET /models/link). Rotation
    // keeps the old key as `previous` until `previous_accepted_until`; then its links are refused and the
    // reconciler rewrites them with the current key.
    const modelLinkKeysSecret = new secretsmanager.Secret(this, 'ModelLinkKeys', {
      secretName: 'govsync/model-link-keys',
      description:
        'The HMAC keys that sign govsync model links, as JSON {"current", "previous", "previous_accepted_until"}; links signed by a retired key stop working.',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: 'current',
        passwordLength: 64,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(modelLinkKeysSecret, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotation keeps the old key as previous until previous_accepted_until so that links already written on governance Models keep working until the reconciler rewrites them; the operator does it, no rotation function can choose that window.',
      },
    ]);
    for (const secret of [apiKeySecret, webhookSecrets, modelLinkKeysSecret]) {
      (secret.node.defaultChild as secretsmanager.CfnSecret).cfnOptions.condition = createRetainedData;
    }
    // By name: the function reads it by name, the grant matches the real ARN's random suffix.
    const secretByName = (name: string) => ({
      name,
      arn: `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${name}-??????`,
    });
    const apiKey = secretByName('govsync/governance-api-key');
    const signingSecrets = secretByName('govsync/webhook-signing-secrets');
    const modelLinkKeys = secretByName('govsync/model-link-keys');

    // ------------------------------------------------------------ HTTP API (governance webhooks, model links)
    // Declared before the functions: registry-events and the reconciler write links to its /models/link route.
    const accessLogs = new logs.LogGroup(this, 'WebhookAccessLogs', {
      logGroupName: '/govsync/webhook-api-access',
      retention: logRetentionDays.valueAsNumber as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const api = new apigwv2.CfnApi(this, 'WebhookApi', {
      name: 'govsync-webhooks',
      protocolType: 'HTTP',
      description:
        'Receives governance-platform webhooks (verified by HMAC in the function, design section 4) and opens govsync model links (signature verified in the function).',
    });
    // The base of the link written on each Model: the organisation's front (ModelLinkBaseUrl), else the API's own
    // route. One value for registry-events and the reconciler (each rewrites a link on another base).
    const apiModelLinkUrl = `https://${api.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/models/link`;
    const modelLinkUrl = Fn.conditionIf(hasModelLinkBaseUrl.logicalId, modelLinkBaseUrl.valueAsString, apiModelLinkUrl).toString();

    // ------------------------------------------------------------ functions and their roles
    // Functions not built locally come from S3 (<CodeBucket>/<CodePrefix><name>.zip); the parameters exist only then.
    let codeLocation: { bucket: CfnParameter; prefix: CfnParameter } | undefined;
    const code = (name: FunctionName): lambda.Code => {
      const zip = path.join(props.lambdaDir, name, 'bootstrap.zip');
      if (fs.existsSync(zip)) return lambda.Code.fromAsset(zip);
      if (fs.existsSync(path.join(props.lambdaDir, name, 'bootstrap'))) return lambda.Code.fromAsset(path.join(props.lambdaDir, name));
      codeLocation ??= {
        bucket: new CfnParameter(this, 'CodeBucket', {
          minLength: 3,
          description: 'S3 bucket holding <CodePrefix><name>.zip for every function not built before synth.',
        }),
        prefix: new CfnParameter(this, 'CodePrefix', { default: 'govsync/' }),
      };
      const bucket = s3.Bucket.fromBucketName(this, `${name}-code-bucket`, codeLocation.bucket.valueAsString);
      Annotations.of(bucket).acknowledgeWarning(
        '@aws-cdk/aws-lambda:codeFromBucketObjectVersionNotSpecified',
        'Each release uploads under a new CodePrefix, so the key changes whenever the code does.',
      );
      return lambda.Code.fromBucket(bucket, `${codeLocation.prefix.valueAsString}${name}.zip`);
    };

    const commonEnvironment: Record<string, string> = {
      GOVSYNC_GOVERNANCE_URL: governanceBaseUrl.valueAsString,
      GOVSYNC_GOVERNANCE_AUTH_MODE: governanceAuthMode.valueAsString,
      GOVSYNC_GOVERNANCE_TOKEN_URL: governanceTokenUrl.valueAsString,
      GOVSYNC_GOVERNANCE_INSTANCE_ID: governanceInstanceId.valueAsString,
      GOVSYNC_GOVERNANCE_USERNAME: governanceUsername.valueAsString,
      GOVSYNC_GOVERNANCE_CP4D_INSTANCE: governanceCp4dInstance.valueAsString,
      GOVSYNC_GOVERNANCE_API_PREFIX: governanceApiPrefix.valueAsString,
      GOVSYNC_GOVERNANCE_API_KEY_SECRET: apiKey.name,
      GOVSYNC_REGISTRIES_TABLE: registriesTable.tableName,
      GOVSYNC_WRITER_ROLE_ARNS: writerRoleArns.valueAsString,
      GOVSYNC_SPOKE_ROLE_NAME: spokeRoleName.valueAsString,
      GOVSYNC_SPOKE_EXTERNAL_ID: spokeExternalId.valueAsString,
      GOVSYNC_GATE_MODE: gateMode.valueAsString,
      GOVSYNC_IDEMPOTENCY_TABLE: idempotencyTable.tableName,
      GOVSYNC_LINKS_TABLE: linksTable.tableName,
      GOVSYNC_CURSORS_TABLE: cursorsTable.tableName,
      GOVSYNC_METRICS_NAMESPACE: 'govsync',
      RUST_LOG: 'info',
    };
    // CloudFormation cannot turn the account list into ARNs (no map; Fn::Join takes only a literal
    // delimiter), so the condition pins the account.
    const spokeAccess = new iam.PolicyStatement({
      sid: 'RegistryAccounts',
      actions: ['sts:AssumeRole'],
      resources: [`arn:${Aws.PARTITION}:iam::*:role/govsync/${spokeRoleName.valueAsString}-*`],
      conditions: { StringEquals: { 'aws:ResourceAccount': spokeAccountIds.valueAsList } },
    });
    // The adapters use GetItem/PutItem/UpdateItem/DeleteItem and TransactWriteItems (authorized per item action).
    const tableActions = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
    // The governed registries, scanned once per cold start by every function that reaches registries.
    const readRegistries = new iam.PolicyStatement({ sid: 'Registries', actions: ['dynamodb:Scan'], resources: [registriesTable.tableArn] });
    const readApiKey = new iam.PolicyStatement({ sid: 'GovernanceCredentials', actions: ['secretsmanager:GetSecretValue'], resources: [apiKey.arn] });
    // Signs (registry-events, reconciler) or verifies (model-link) the govsync model link on each governance Model.
    const readModelLinkKeys = new iam.PolicyStatement({ sid: 'ModelLinkKeys', actions: ['secretsmanager:GetSecretValue'], resources: [modelLinkKeys.arn] });
    const modelLinkEnvironment = { GOVSYNC_MODEL_LINK_URL: modelLinkUrl, GOVSYNC_MODEL_LINK_KEYS_SECRET: modelLinkKeys.name };

    interface FunctionSpec {
      readonly description: string;
      readonly timeout: Duration;
      readonly memorySize: number;
      readonly statements: iam.PolicyStatement[];
      readonly environment?: Record<string, string>;
      readonly asyncRetries?: number;
      readonly assumesSpokeRole: boolean;
      readonly usesAccountWildcards?: boolean;
    }
    const makeFunction = (name: FunctionName, logicalPrefix: string, spec: FunctionSpec): lambda.Function => {
      const logGroup = new logs.LogGroup(this, `${logicalPrefix}Logs`, {
        logGroupName: `/aws/lambda/govsync-${name}`,
        retention: logRetentionDays.valueAsNumber as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const role = new iam.Role(this, `${logicalPrefix}Role`, {
        roleName: `govsync-${name}`,
        path: '/govsync/',
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        inlinePolicies: {
          [name]: new iam.PolicyDocument({
            statements: [
              new iam.PolicyStatement({ sid: 'Logs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
              ...spec.statements,
              ...(spec.assumesSpokeRole ? [readRegistries, spokeAccess] : []),
            ],
          }),
        },
      });
      const fn = new lambda.Function(this, `${logicalPrefix}Function`, {
        functionName: `govsync-${name}`,
        description: spec.description,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        handler: 'bootstrap',
        code: code(name),
        architecture: lambda.Architecture.custom(architecture.valueAsString),
        timeout: spec.timeout,
        memorySize: spec.memorySize,
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        tracing: lambda.Tracing.ACTIVE,
        environment: { ...commonEnvironment, ...spec.environment },
        ...(spec.asyncRetries === undefined ? {} : { deadLetterQueue: asyncFailures, retryAttempts: spec.asyncRetries }),
      });
      NagSuppressions.addResourceSuppressions(
        role,
        [
          {
            id: 'AwsSolutions-IAM5',
            reason:
              'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource ARN' +
              (spec.assumesSpokeRole
                ? '; the registry role has a fixed name and path in every spoke account, and the set of accounts is open-ended (any number of registries), so the account is a wildcard while the role ARN is not.'
                : '.'),
            appliesTo: ['Resource::*', ...(spec.assumesSpokeRole ? [{ regex: '/^Resource::arn:<AWS::Partition>:iam::\\*:role\\/govsync\\/.*$/g' }] : [])],
          },
        ],
        true,
      );
      return fn;
    };

    // 60 s for queue consumers: a batch of 10 spread over message groups, each a few bounded HTTPS calls with
    // SDK retries and Retry-After honoured; the queues' visibility timeout is 6 x that. 256 MB: Lambda gives CPU
    // in proportion to memory and cold-start TLS handshakes are CPU bound.
    const registryEventsFn = makeFunction('registry-events', 'RegistryEvents', {
      description: 'Registry events (F2, F3) from registry-events.fifo.',
      timeout: Duration.seconds(60),
      memorySize: 256,
      assumesSpokeRole: true,
      environment: { GOVSYNC_DLQ_URL: registryEvents.dlq.queueUrl, ...modelLinkEnvironment },
      statements: [
        new iam.PolicyStatement({ sid: 'Quarantine', actions: ['sqs:SendMessage'], resources: [registryEvents.dlq.queueArn] }),
        // Issue 17: a package's state in one BatchGetItem, its writes in one transaction with a condition check.
        new iam.PolicyStatement({
          sid: 'Tables',
          actions: [...tableActions, 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem'],
          resources: [idempotencyTable.tableArn, linksTable.tableArn],
        }),
        readApiKey,
        readModelLinkKeys,
      ],
    });
    registryEventsFn.addEventSource(new SqsEventSource(registryEvents.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }));

    // Decode + one SendMessage per event: 10 s; the ingest queues' visibility timeout is 6 x that.
    const relayFn = makeFunction('registry-relay', 'RegistryRelay', {
      description: 'Registry events from the ingest queues onto their FIFO queues, one message group per object.',
      timeout: Duration.seconds(10),
      memorySize: 128,
      assumesSpokeRole: false,
      environment: {
        GOVSYNC_RELAY_ROUTES: `registry-events-ingest=${registryEvents.queue.queueUrl},decommission-ingest=${decommission.queue.queueUrl}`,
        GOVSYNC_RELAY_DEAD_LETTER_QUEUES: `registry-events-ingest=${registryIngest.dlq.queueUrl},decommission-ingest=${decommissionIngest.dlq.queueUrl}`,
      },
      statements: [
        new iam.PolicyStatement({ sid: 'Relay', actions: ['sqs:SendMessage'], resources: [registryEvents.queue.queueArn, decommission.queue.queueArn] }),
        new iam.PolicyStatement({ sid: 'DeadLetterWithReason', actions: ['sqs:SendMessage'], resources: [registryIngest.dlq.queueArn, decommissionIngest.dlq.queueArn] }),
      ],
    });
    relayFn.addEventSource(new SqsEventSource(registryIngest.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }));
    relayFn.addEventSource(new SqsEventSource(decommissionIngest.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 2 }));

    // Verify + one conditional put + one SendMessage: 10 s, well under the HTTP API's 30 s integration limit.
    const webhookFn = makeFunction('governance-webhook', 'GovernanceWebhook', {
      description: 'Verifies governance webhooks (HMAC, replay), acks 202 and enqueues on governance-events.fifo.',
      timeout: Duration.seconds(10),
      memorySize: 256,
      assumesSpokeRole: false,
      environment: {
        GOVSYNC_WEBHOOK_SECRETS_SECRET: signingSecrets.name,
        GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL: governanceEvents.queue.queueUrl,
        GOVSYNC_WEBHOOK_OBJECT_ID_POINTER: webhookObjectIdPointer.valueAsString,
      },
      statements: [
        new iam.PolicyStatement({ sid: 'SigningSecrets', actions: ['secretsmanager:GetSecretValue'], resources: [signingSecrets.arn] }),
        new iam.PolicyStatement({
          sid: 'ReplayRejection',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
          resources: [idempotencyTable.tableArn],
          // Only its own records (IdempotencyKey::for_webhook_delivery), never another function's claims.
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['webhook:*'] } },
        }),
        new iam.PolicyStatement({ sid: 'Enqueue', actions: ['sqs:SendMessage'], resources: [governanceEvents.queue.queueArn] }),
      ],
    });

    // Verify + one GetItem + one AssumeRole + one CreatePresignedDomainUrl: 10 s, well under the 30 s limit.
    // Reads the link keys, the link's row and the registries, and presigns with the registry's spoke role.
    const modelLinkFn = makeFunction('model-link', 'ModelLink', {
      description: 'Opens a govsync model link (issue 16) - verifies its signature and redirects to SageMaker Studio or the console.',
      timeout: Duration.seconds(10),
      memorySize: 256,
      assumesSpokeRole: true,
      environment: { GOVSYNC_MODEL_LINK_KEYS_SECRET: modelLinkKeys.name },
      statements: [
        readModelLinkKeys,
        // The links adapter's get only; model-link never writes.
        new iam.PolicyStatement({ sid: 'Links', actions: ['dynamodb:GetItem'], resources: [linksTable.tableArn] }),
      ],
    });

    const approvalFn = makeFunction('approval-propagation', 'ApprovalPropagation', {
      description: 'Governance events (F1, F4) from governance-events.fifo.',
      timeout: Duration.seconds(60),
      memorySize: 256,
      assumesSpokeRole: true,
      environment: {
        GOVSYNC_DLQ_URL: governanceEvents.dlq.queueUrl,
        GOVSYNC_NOTIFICATION_SENDER: notificationSender.valueAsString,
        GOVSYNC_DECOMMISSION_QUEUE_URL: decommission.queue.queueUrl,
        // Where each applied governance decision is published (the bus's name).
        GOVSYNC_DECISION_BUS: decisionBus.eventBusName,
      },
      statements: [
        new iam.PolicyStatement({ sid: 'Quarantine', actions: ['sqs:SendMessage'], resources: [governanceEvents.dlq.queueArn] }),
        new iam.PolicyStatement({ sid: 'DecommissionRequests', actions: ['sqs:SendMessage'], resources: [decommission.queue.queueArn] }),
        // One event per applied governance decision, on govsync's decision bus only, as govsync (not grantPutEventsTo,
        // which sets no source condition).
        new iam.PolicyStatement({
          sid: 'DecisionEvents',
          actions: ['events:PutEvents'],
          resources: [decisionBus.eventBusArn],
          conditions: { StringEquals: { 'events:source': 'govsync' } },
        }),
        new iam.PolicyStatement({ sid: 'Tables', actions: tableActions, resources: [idempotencyTable.tableArn, linksTable.tableArn] }),
        readApiKey,
      ],
    });
    approvalFn.addEventSource(new SqsEventSource(governanceEvents.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }));
    // F1 emails, only when a sender identity is configured.
    const sendEmail = new iam.Policy(this, 'ApprovalPropagationEmailPolicy', {
      statements: [
        new iam.PolicyStatement({
          sid: 'DataScienceEmail',
          actions: ['ses:SendEmail'],
          resources: [`arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:identity/${notificationSenderIdentity.valueAsString}`],
        }),
      ],
      roles: [approvalFn.role!],
    });
    (sendEmail.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = hasSender;

    const decommissionFn = makeFunction('decommission', 'Decommission', {
      description: 'Registry deletions (F5) from decommission.fifo; governance decommissions (F6) archive packages.',
      timeout: Duration.seconds(60),
      memorySize: 256,
      assumesSpokeRole: true,
      environment: { GOVSYNC_DLQ_URL: decommission.dlq.queueUrl, GOVSYNC_DECOMMISSION_NOTE_FIELD: decommissionNoteField.valueAsString },
      statements: [
        new iam.PolicyStatement({ sid: 'Quarantine', actions: ['sqs:SendMessage'], resources: [decommission.dlq.queueArn] }),
        new iam.PolicyStatement({ sid: 'Tables', actions: tableActions, resources: [idempotencyTable.tableArn, linksTable.tableArn] }),
        readApiKey,
      ],
    });
    decommissionFn.addEventSource(new SqsEventSource(decommission.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 2 }));

    // Lists every registry and the governance inventory, then repairs: the Lambda maximum, 1 GB for CPU share.
    const reconcilerFn = makeFunction('reconciler', 'Reconciler', {
      description: 'Reconciles every registry with the governance inventory (F8).',
      timeout: Duration.seconds(900),
      memorySize: 1024,
      assumesSpokeRole: true,
      asyncRetries: 0,
      environment: {
        GOVSYNC_DECOMMISSION_QUEUE_URL: decommission.queue.queueUrl,
        GOVSYNC_RECONCILE_CONCURRENCY: '16',
        GOVSYNC_RECONCILE_GROUP_CONCURRENCY: '8',
        GOVSYNC_RECONCILE_DEADLINE_MARGIN_SECONDS: '60',
        // Issue 17: a 24th of the packages described in full each run, the rest from batch summaries.
        GOVSYNC_RECONCILE_DEEP_SLICES: '24',
        GOVSYNC_RECONCILE_REGISTRY_CONCURRENCY: '10',
        GOVSYNC_RECONCILE_DEEP_DESCRIBES_PER_SECOND: '5',
        // Written where missing, rewritten when signed by a key that is no longer current.
        ...modelLinkEnvironment,
      },
      statements: [
        new iam.PolicyStatement({ sid: 'DecommissionRequests', actions: ['sqs:SendMessage'], resources: [decommission.queue.queueArn] }),
        new iam.PolicyStatement({
          sid: 'Tables',
          actions: [...tableActions, 'dynamodb:BatchGetItem'],
          resources: [idempotencyTable.tableArn, linksTable.tableArn, cursorsTable.tableArn],
        }),
        readApiKey,
        readModelLinkKeys,
      ],
    });

    // A few paged queries and SendMessageBatch calls per run.
    const pollerFn = makeFunction('governance-poller', 'GovernancePoller', {
      description: 'Polls the governance query API by modification watermark and feeds governance-events.fifo.',
      timeout: Duration.seconds(120),
      memorySize: 256,
      assumesSpokeRole: false,
      asyncRetries: 0,
      environment: { GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL: governanceEvents.queue.queueUrl },
      statements: [
        new iam.PolicyStatement({
          sid: 'Watermarks',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [cursorsTable.tableArn],
        }),
        readApiKey,
        new iam.PolicyStatement({ sid: 'Enqueue', actions: ['sqs:SendMessage'], resources: [governanceEvents.queue.queueArn] }),
      ],
    });

    // One event: resolve the link, read the execution's report, write a few values; 60 s covers Retry-After.
    const metricsFn = makeFunction('metrics-relay', 'MetricsRelay', {
      description: 'Pushes monitoring metrics (govsync metrics events, Model Monitor and Clarify results) to governance (F7).',
      timeout: Duration.seconds(60),
      memorySize: 256,
      assumesSpokeRole: true,
      asyncRetries: 2,
      environment: { GOVSYNC_DLQ_URL: asyncFailures.queueUrl, GOVSYNC_METRIC_BREACH_STATUS: metricBreachStatus.valueAsString, GOVSYNC_METRIC_AMBER_MARGIN: '0.05' },
      statements: [
        new iam.PolicyStatement({ sid: 'Quarantine', actions: ['sqs:SendMessage'], resources: [asyncFailures.queueArn] }),
        new iam.PolicyStatement({ sid: 'Tables', actions: tableActions, resources: [idempotencyTable.tableArn, linksTable.tableArn] }),
        readApiKey,
      ],
    });
    const toMetricsRelay = new eventTargets.LambdaFunction(metricsFn, { retryAttempts: 8, maxEventAge: Duration.hours(1), deadLetterQueue: eventDeliveryDlq });
    // Model Monitor and Clarify schedules run as processing jobs; a finished execution carries its schedule ARN.
    const monitoringResult: events.EventPattern = {
      source: ['aws.sagemaker'],
      detailType: ['SageMaker Processing Job State Change'],
      detail: { ProcessingJobStatus: ['Completed'], MonitoringScheduleArn: [{ exists: true }] },
    };
    const metricRecorded: events.EventPattern = { source: ['govsync.metrics'], detailType: ['Model Metric Recorded'] };
    for (const [suffix, eventBus] of [['', undefined], ['FromSpokes', spokeBus]] as const) {
      new events.Rule(this, `MetricRecorded${suffix}Rule`, { ruleName: 'govsync-metrics', eventPattern: metricRecorded, eventBus, targets: [toMetricsRelay] });
      new events.Rule(this, `MonitoringResult${suffix}Rule`, { ruleName: 'govsync-monitoring-results', eventPattern: monitoringResult, eventBus, targets: [toMetricsRelay] });
    }

    // ------------------------------------------------------------ schedules (EventBridge Scheduler)
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      inlinePolicies: {
        invoke: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [reconcilerFn.functionArn, pollerFn.functionArn] }),
          ],
        }),
      },
    });
    new scheduler.CfnSchedule(this, 'ReconcilerSchedule', {
      name: 'govsync-reconcile',
      description: 'Full reconciliation (F8).',
      scheduleExpression: reconcileSchedule.valueAsString,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: reconcilerFn.functionArn,
        roleArn: schedulerRole.roleArn,
        input: JSON.stringify({ mode: 'repair' }),
        retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 3600 },
      },
    });
    new scheduler.CfnSchedule(this, 'GovernancePollerSchedule', {
      name: 'govsync-governance-poll',
      description: 'Incremental poll of governance changes.',
      scheduleExpression: pollSchedule.valueAsString,
      state: pollState.valueAsString,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: pollerFn.functionArn,
        roleArn: schedulerRole.roleArn,
        retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 300 },
      },
    });

    // ------------------------------------------------------------ HTTP API routes (the API is declared above)
    const integration = new apigwv2.CfnIntegration(this, 'WebhookIntegration', {
      apiId: api.ref,
      integrationType: 'AWS_PROXY',
      integrationUri: webhookFn.functionArn,
      payloadFormatVersion: '2.0',
    });
    const route = new apigwv2.CfnRoute(this, 'WebhookRoute', {
      apiId: api.ref,
      routeKey: 'POST /webhooks/governance',
      authorizationType: 'NONE',
      target: `integrations/${integration.ref}`,
    });
    NagSuppressions.addResourceSuppressions(route, [
      {
        id: 'AwsSolutions-APIG4',
        reason: 'The governance platform cannot sign requests with SigV4 or present a JWT; every delivery is authenticated in the function by its Standard-Webhooks HMAC signature, timestamp tolerance and delivery-id replay rejection.',
      },
    ]);
    const modelLinkIntegration = new apigwv2.CfnIntegration(this, 'ModelLinkIntegration', {
      apiId: api.ref,
      integrationType: 'AWS_PROXY',
      integrationUri: modelLinkFn.functionArn,
      payloadFormatVersion: '2.0',
    });
    // Optional JWT authorizer (HasModelLinkAuthorizer): a token of the organisation's identity provider in the
    // Authorization header, which a front before the API has to add (a browser sends none; DEPLOYMENT.md).
    const modelLinkAuthorizer = new apigwv2.CfnAuthorizer(this, 'ModelLinkAuthorizer', {
      apiId: api.ref,
      // The name SAM's OpenAPI body gives it (its security scheme).
      name: 'ModelLinkJwt',
      authorizerType: 'JWT',
      identitySource: ['$request.header.Authorization'],
      jwtConfiguration: {
        issuer: modelLinkJwtIssuer.valueAsString,
        audience: Fn.split(',', modelLinkJwtAudience.valueAsString),
      },
    });
    modelLinkAuthorizer.cfnOptions.condition = hasModelLinkAuthorizer;
    const modelLinkRoute = new apigwv2.CfnRoute(this, 'ModelLinkRoute', {
      apiId: api.ref,
      routeKey: 'GET /models/link',
      authorizationType: Fn.conditionIf(hasModelLinkAuthorizer.logicalId, 'JWT', 'NONE').toString(),
      authorizerId: Fn.conditionIf(hasModelLinkAuthorizer.logicalId, modelLinkAuthorizer.ref, Aws.NO_VALUE).toString(),
      target: `integrations/${modelLinkIntegration.ref}`,
    });
    NagSuppressions.addResourceSuppressions(modelLinkRoute, [
      {
        id: 'AwsSolutions-APIG4',
        reason:
          "The JWT authorizer is optional (ModelLinkJwtIssuer / ModelLinkJwtAudience): a model link is opened by a person's browser from the governance UI, which presents no token unless the organisation puts a login front before it; without it every link is authenticated in the function by its HMAC signature (keys in govsync/model-link-keys), and what it answers is a short-lived presigned Studio URL or a console link.",
      },
    ]);
    const stage = new apigwv2.CfnStage(this, 'WebhookStage', {
      apiId: api.ref,
      stageName: '$default',
      autoDeploy: true,
      defaultRouteSettings: { throttlingBurstLimit: webhookBurstLimit.valueAsNumber, throttlingRateLimit: webhookRateLimit.valueAsNumber },
      // A raw JSON property, passed as written: CloudFormation's RouteSettings keys are PascalCase.
      routeSettings: {
        'POST /webhooks/governance': { ThrottlingBurstLimit: webhookBurstLimit.valueAsNumber, ThrottlingRateLimit: webhookRateLimit.valueAsNumber },
        'GET /models/link': { ThrottlingBurstLimit: webhookBurstLimit.valueAsNumber, ThrottlingRateLimit: webhookRateLimit.valueAsNumber },
      },
      accessLogSettings: {
        destinationArn: accessLogs.logGroupArn,
        format: JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          time: '$context.requestTime',
          route: '$context.routeKey',
          status: '$context.status',
          length: '$context.responseLength',
          latencyMs: '$context.integrationLatency',
          error: '$context.integrationErrorMessage',
        }),
      },
    });
    stage.addResourceDependency(route);
    stage.addResourceDependency(modelLinkRoute);
    webhookFn.addPermission('WebhookApiInvoke', {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${api.ref}/*/POST/webhooks/governance`,
    });
    modelLinkFn.addPermission('ModelLinkApiInvoke', {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${api.ref}/*/GET/models/link`,
    });

    // ------------------------------------------------------------ alarms and dashboard
    const alarmTopic = new sns.Topic(this, 'AlarmTopic', { topicName: 'govsync-alarms', enforceSSL: true });
    alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [alarmTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    NagSuppressions.addResourceSuppressions(alarmTopic, [
      { id: 'AwsSolutions-SNS2', reason: 'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key; alarm texts carry no data.' },
    ]);
    const subscription = new sns.CfnSubscription(this, 'AlarmEmailSubscription', {
      topicArn: alarmTopic.topicArn,
      protocol: 'email',
      endpoint: alarmEmail.valueAsString,
    });
    subscription.cfnOptions.condition = hasAlarmEmail;
    const notify = new cwActions.SnsAction(alarmTopic);
    const alarm = (id: string, props: cloudwatch.AlarmProps, withOk = true) => {
      const created = new cloudwatch.Alarm(this, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
      created.addAlarmAction(notify);
      if (withOk) created.addOkAction(notify);
      return created;
    };

    const pairs = [
      { label: 'registry-events', id: 'RegistryEvents', ...registryEvents },
      { label: 'governance-events', id: 'GovernanceEvents', ...governanceEvents },
      { label: 'decommission', id: 'Decommission', ...decommission },
    ];
    // The relay gave up on an event (SQS refused the send through every receive), or EventBridge could not
    // deliver one to a govsync rule's target: inspect and redrive.
    alarm('RegistryIngestDlqDepthAlarm', {
      alarmName: 'govsync-ingest-dlq-depth',
      alarmDescription: "Events the registry-relay could not move onto their FIFO queue, or EventBridge could not deliver to a govsync rule's target (redrive them).",
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(registry, 0) + FILL(decommission, 0) + FILL(undelivered, 0)',
        usingMetrics: {
          registry: registryIngest.dlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
          decommission: decommissionIngest.dlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
          undelivered: eventDeliveryDlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
        },
        period: Duration.minutes(5),
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    for (const pair of pairs) {
      alarm(`${pair.id}DlqDepthAlarm`, {
        alarmName: `govsync-${pair.label}-dlq-depth`,
        alarmDescription: `Messages quarantined in ${pair.label}-dlq.fifo (inspect, fix, replay).`,
        metric: pair.dlq.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
      alarm(`${pair.id}AgeAlarm`, {
        alarmName: `govsync-${pair.label}-oldest-message-age`,
        alarmDescription: `${pair.label}.fifo is not draining.`,
        metric: pair.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(5) }),
        threshold: 900,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
      alarm(
        `${pair.id}DlqAgeAlarm`,
        {
          alarmName: `govsync-${pair.label}-dlq-oldest-message-age`,
          alarmDescription: `A quarantined message of ${pair.label} has waited more than a day (DLQ retention is 14 days).`,
          metric: pair.dlq.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.hours(1) }),
          threshold: 86400,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        },
        false,
      );
    }
    alarm('AsyncFailuresDepthAlarm', {
      alarmName: 'govsync-async-failures-depth',
      alarmDescription: 'A scheduled run or metrics event failed after retries (govsync-async-failures).',
      metric: asyncFailures.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    const functions = [registryEventsFn, webhookFn, approvalFn, decommissionFn, reconcilerFn, pollerFn, metricsFn, relayFn, modelLinkFn];
    const sumOver = (label: string, metricOf: (fn: lambda.Function) => cloudwatch.IMetric) =>
      new cloudwatch.MathExpression({
        label,
        period: Duration.minutes(5),
        // A function not invoked in a period publishes nothing: FILL makes it count 0, not empty the sum.
        expression: functions.map((_, index) => `FILL(m${index + 1}, 0)`).join(' + '),
        usingMetrics: Object.fromEntries(functions.map((fn, index) => [`m${index + 1}`, metricOf(fn)])),
      });
    alarm('FunctionErrorsAlarm', {
      alarmName: 'govsync-function-errors',
      alarmDescription: 'A govsync function failed an invocation (unhandled error or timeout) in 3 of the last 5 periods.',
      metric: sumOver('govsync function errors', (fn) => fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) })),
      threshold: 0,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('FunctionThrottlesAlarm', {
      alarmName: 'govsync-function-throttles',
      alarmDescription: 'A govsync function was throttled (account concurrency exhausted) in 3 of the last 5 periods.',
      metric: sumOver('govsync function throttles', (fn) => fn.metricThrottles({ statistic: 'Sum', period: Duration.minutes(5) })),
      threshold: 0,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    // The functions' EMF lines (GOVSYNC_METRICS_NAMESPACE = govsync) carry the one dimension Function
    // (the reconciler's per-kind lines add DriftKind). Each function emits the shared metrics that apply to
    // it: only the queue functions can see echoes, the reconciler reads no events (no duplicates,
    // quarantine or lag). local/tests/test_dashboard_matches_template.py keeps this in step with the SAM
    // template, and local/runner/tests/dashboard_metrics.rs that one with what the functions emit.
    const queueFunctions = ['registry-events', 'approval-propagation', 'decommission'];
    const eventFunctions = [...queueFunctions, 'governance-webhook', 'governance-poller', 'metrics-relay'];
    // model-link counts requests (EventsProcessed), refused links (Quarantined) and failures, plus its own.
    const emfFunctions = [...eventFunctions, 'reconciler', 'model-link'];
    const driftKinds = [
      'package_not_in_governance',
      'model_package_gone',
      'status_out_of_step',
      'shadow_approval',
      'unassigned_group',
      'dangling_link',
      'duplicate_models',
      'duplicate_model_groups',
      'unknown_governance_status',
      'model_card_out_of_step',
      'model_link_stale',
      'artifact_changed_since_approval',
      'artifact_unverifiable',
      'endpoint_serving_unapproved',
      'endpoint_serving_decommissioned',
      'endpoint_serving_other_artifact',
      'deployments_out_of_step',
    ];
    const perFunction = (metricName: string, statistic = 'Sum', fns: string[] = emfFunctions) =>
      fns.map(
        (fn) =>
          new cloudwatch.Metric({
            namespace: 'govsync',
            metricName,
            statistic,
            dimensionsMap: { Function: fn },
            label: statistic === 'Sum' ? `${fn} ${metricName}` : `${fn} ${statistic}`,
            period: Duration.minutes(5),
          }),
      );
    const perDriftKind = (metricName: string, kinds: string[] = driftKinds) =>
      kinds.map(
        (kind) =>
          new cloudwatch.Metric({
            namespace: 'govsync',
            metricName,
            statistic: 'Sum',
            dimensionsMap: { Function: 'reconciler', DriftKind: kind },
            label: kind,
            period: Duration.minutes(5),
          }),
      );
    // The sum of per-function counts, a function that printed nothing counting 0.
    const filledSum = (label: string, prefix: string, metrics: cloudwatch.IMetric[]) =>
      new cloudwatch.MathExpression({
        expression: metrics.map((_, index) => `FILL(${prefix}${index + 1}, 0)`).join(' + '),
        label,
        usingMetrics: Object.fromEntries(metrics.map((metric, index) => [`${prefix}${index + 1}`, metric])),
        period: Duration.minutes(5),
      });
    const quarantined = perFunction('Quarantined', 'Sum', [...eventFunctions, 'model-link']);
    alarm(
      'QuarantinedAlarm',
      {
        alarmName: 'govsync-quarantined',
        alarmDescription:
          "govsync quarantined a message as permanently failing (reason in the DLQ message attributes) or refused a delivery or a model link (reason in the function's log).",
        metric: filledSum('govsync quarantined', 'q', quarantined),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      },
      false,
    );
    // Governance refused the API key even after a re-read: the messages wait in their queues for an operator.
    alarm('GovernanceUnauthorizedAlarm', {
      alarmName: 'govsync-governance-unauthorized',
      alarmDescription:
        "Governance refused govsync's API key (401/403 after a re-read); messages are held for retry. Check or rotate the key in Secrets Manager.",
      metric: filledSum(
        'govsync governance unauthorized',
        'u',
        perFunction('GovernanceUnauthorized', 'Sum', [...queueFunctions, 'metrics-relay']),
      ),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    // A security signal: metrics from an origin that is not the package's registry, or an unmapped one.
    alarm(
      'ForeignMetricsRefusedAlarm',
      {
        alarmName: 'govsync-foreign-metrics-refused',
        alarmDescription:
          "metrics-relay refused a metrics event from another account or region than its package's registry, or from an unmapped registry. Check the spokes' metrics producers.",
        metric: filledSum('govsync foreign metrics refused', 'f', perFunction('ForeignMetricsRefused', 'Sum', ['metrics-relay'])),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      },
      false,
    );

    // govsync never stops an endpoint: the reconciler's deep pass reports one serving a package governance has
    // not approved for its stage, has decommissioned, or whose artifact is not the approved one, and this alarm
    // is how a person hears of it (again at each run while it lasts).
    const servingKinds = ['endpoint_serving_unapproved', 'endpoint_serving_decommissioned', 'endpoint_serving_other_artifact'];
    alarm(
      'EndpointServingUnapprovedAlarm',
      {
        alarmName: 'govsync-endpoint-serving-unapproved',
        alarmDescription:
          'An endpoint serves a model package governance has not approved for its stage, has decommissioned, or with another artifact than the approved one (govsync reconcile / govsync status name it). govsync does not stop endpoints.',
        metric: filledSum(
          'govsync endpoints serving unapproved',
          's',
          perDriftKind('DriftsFound', servingKinds),
        ),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      },
      false,
    );

    new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: 'govsync',
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Sync lag (event time to applied), ms, p50/p99 per function',
            width: 12,
            left: [...perFunction('SyncLagMs', 'p50', eventFunctions), ...perFunction('SyncLagMs', 'p99', eventFunctions)],
          }),
          new cloudwatch.GraphWidget({
            title: 'Events processed per function',
            width: 12,
            left: perFunction('EventsProcessed'),
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Duplicates and echoes dropped',
            width: 8,
            left: [...perFunction('Duplicates', 'Sum', eventFunctions), ...perFunction('EchoesDropped', 'Sum', queueFunctions)],
          }),
          new cloudwatch.GraphWidget({ title: 'Quarantined (sent to a DLQ) or refused', width: 8, left: quarantined }),
          new cloudwatch.GraphWidget({ title: 'Failures (retryable, reported back)', width: 8, left: perFunction('Failures') }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Queue depth',
            width: 12,
            left: pairs.flatMap((pair) => [pair.queue, pair.dlq].map((queue) => queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' }))),
          }),
          new cloudwatch.GraphWidget({
            title: 'Age of oldest message, s',
            width: 12,
            left: pairs.map((pair) => pair.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' })),
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function errors and throttles',
            width: 24,
            left: functions.map((fn) => fn.metricErrors({ statistic: 'Sum' })),
            right: functions.map((fn) => fn.metricThrottles({ statistic: 'Sum' })),
          }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Reconciler: drift found per kind', width: 12, left: perDriftKind('DriftsFound') }),
          new cloudwatch.GraphWidget({ title: 'Reconciler: drift repaired per kind', width: 12, left: perDriftKind('DriftsRepaired') }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Model links opened and refused',
            width: 12,
            left: [...perFunction('ModelLinkOpened', 'Sum', ['model-link']), ...perFunction('ModelLinkRefused', 'Sum', ['model-link'])],
          }),
        ],
      ],
    });

    // ------------------------------------------------------------ outputs
    new CfnOutput(this, 'WebhookUrl', {
      description: "Configure this URL (POST) as the governance platform's webhook target.",
      value: `https://${api.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/webhooks/governance`,
    });
    new CfnOutput(this, 'ModelLinkUrl', {
      description:
        "Base URL of the signed govsync model links written on governance Models (ModelLinkBaseUrl, else the API's own GET /models/link; opens SageMaker Studio or the console).",
      value: modelLinkUrl,
    });
    new CfnOutput(this, 'RegistryEventsQueueArn', { value: registryEvents.queue.queueArn });
    new CfnOutput(this, 'GovernanceEventsQueueArn', { value: governanceEvents.queue.queueArn });
    new CfnOutput(this, 'DecommissionQueueArn', { value: decommission.queue.queueArn });
    new CfnOutput(this, 'RegistryEventsDlqArn', { value: registryEvents.dlq.queueArn });
    new CfnOutput(this, 'GovernanceEventsDlqArn', { value: governanceEvents.dlq.queueArn });
    new CfnOutput(this, 'DecommissionDlqArn', { value: decommission.dlq.queueArn });
    new CfnOutput(this, 'IdempotencyTableName', { value: idempotencyTable.tableName });
    new CfnOutput(this, 'LinksTableName', { value: linksTable.tableName });
    new CfnOutput(this, 'CursorsTableName', { value: cursorsTable.tableName });
    new CfnOutput(this, 'RegistriesTableName', {
      description: 'Put one item per governed registry here (infra/DEPLOYMENT.md, "Adding a registry").',
      value: registriesTable.tableName,
    });
    new CfnOutput(this, 'HubEventBusArn', { description: 'Pass to infra/spoke.yaml as HubEventBusArn.', value: spokeBus.eventBusArn });
    new CfnOutput(this, 'HubAccountId', { description: 'Pass to infra/spoke.yaml as HubAccountId.', value: Aws.ACCOUNT_ID });
    new CfnOutput(this, 'DecisionBusName', {
      description: 'govsync\'s governance decision bus; deployment pipelines put their rules on it (DEPLOYMENT.md, "Governance decision events").',
      value: decisionBus.eventBusName,
    });
    new CfnOutput(this, 'DecisionBusArn', {
      description: "ARN of govsync's governance decision bus (one event per governance decision applied to SageMaker).",
      value: decisionBus.eventBusArn,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarmTopic.topicArn });
  }
}
