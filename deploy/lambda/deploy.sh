#!/usr/bin/env bash
# Deploys the Lambda ingress with the plain aws CLI (no SAM CLI needed: CloudFormation expands
# the template's Serverless transform itself).
#
#   BUCKET=my-artifacts SUBNETS=subnet-a,subnet-b SECURITY_GROUPS=sg-1 \
#     [SECRET_NAME=ava/prod] [STACK=ava-ingress] deploy/lambda/deploy.sh
#
# For Graviton set ARCH=arm64 and build for it (TARGET=aarch64-unknown-linux-gnu or -musl).
#
# It does NOT point Telegram at the function: that is `ava webhook set --url …`, printed at the
# end (docs/OPERATIONS.md, "Ingress on AWS Lambda").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${BUCKET:?artifact bucket for the zip (BUCKET=…)}"
: "${SUBNETS:?private subnets that reach Redis, comma-separated (SUBNETS=…)}"
: "${SECURITY_GROUPS:?security groups allowed into Redis, comma-separated (SECURITY_GROUPS=…)}"
stack="${STACK:-ava-ingress}"

"$here/build.sh"
aws cloudformation package \
  --template-file "$here/template.yaml" \
  --s3-bucket "$BUCKET" \
  --output-template-file "$here/dist/packaged.yaml"
aws cloudformation deploy \
  --template-file "$here/dist/packaged.yaml" \
  --stack-name "$stack" \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --parameter-overrides \
    "SubnetIds=$SUBNETS" \
    "SecurityGroupIds=$SECURITY_GROUPS" \
    "SecretName=${SECRET_NAME:-ava/prod}" \
    "Architecture=${ARCH:-x86_64}"
url="$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='WebhookUrl'].OutputValue" --output text)"
echo "Deployed. Webhook URL: $url"
echo "Switch Telegram to it (same AVA_WEBHOOK__SECRET as the function): ava webhook set --url $url"
