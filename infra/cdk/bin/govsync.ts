#!/usr/bin/env node
// govsync's hub stack as a CDK app (equivalent to infra/template.yaml), checked by cdk-nag's AwsSolutions pack:
// any unsuppressed finding fails `cdk synth`.
import * as path from 'path';
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CheckovSkips } from '../lib/checkov-skips';
import { GovsyncStack } from '../lib/govsync-stack';

const app = new App();
// Where `cargo lambda build --release [--arm64] [--output-format zip]` put the functions (<dir>/<name>/bootstrap[.zip]).
const lambdaDir =
  (app.node.tryGetContext('lambdaDir') as string | undefined) ??
  process.env.GOVSYNC_LAMBDA_DIR ??
  path.join(process.env.CARGO_TARGET_DIR ?? path.resolve(__dirname, '..', '..', '..', '..', 'target'), 'lambda');

new GovsyncStack(app, 'Govsync', {
  description: 'govsync hub: keeps SageMaker Model Registries and the governance platform in step (CDK edition of infra/template.yaml).',
  lambdaDir,
});
Aspects.of(app).add(new CheckovSkips());
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
app.synth();
