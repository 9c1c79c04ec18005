"""Least-privilege IAM policy documents for AgentCore runtimes and their image builds.

Pipeline role: pure functions of what an agent needs (its model, secrets, callees,
artifact), used by `agentcore_iam.ensure_role`; tests assert them exactly:

* trust: only `bedrock-agentcore.amazonaws.com`, only from this account and region
  (`aws:SourceAccount`/`aws:SourceArn`: the confused-deputy guard AWS recommends);
* logs to `/aws/bedrock-agentcore/runtimes/*`, X-Ray, metrics in the `bedrock-agentcore`
  namespace, workload-identity tokens for this runtime's name only;
* `bedrock:InvokeModel*` on exactly the agent's Bedrock model (no model -> no statement);
* `ssm:GetParameter` on exactly the parameters its `secrets:` reference, and (`store:
  langfuse`) on exactly the Langfuse key parameters its span export reads (`TelemetryKeys`);
* ECR pull on exactly its repository (container deploys);
* `bedrock-agentcore:InvokeAgentRuntime` on exactly the runtimes it `calls:` (the seed's role
  allowed `runtime/*`, i.e. every agent in the account).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.providers.agentcore.aws import Aws

_GEO_PREFIXES = ("us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.", "global.")


@dataclass(frozen=True)
class RoleNeeds:
    """What the agent's runtime may do, beyond the basics every runtime needs."""

    runtime_name: str
    model: str | None  # `bedrock:<id>` or another provider (no Bedrock permission then)
    ssm_parameters: Sequence[str] = ()  # `/path` names
    telemetry_parameters: Sequence[str] = ()  # `/path` names of the Langfuse keys (and host)
    callee_arns: Sequence[str] = ()
    code_object: tuple[str, str] | None = None  # (bucket, key prefix) for code deploys
    repository_arn: str | None = None  # container deploys


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def trust_policy(service: str, account: str, source_arn: str | None) -> dict[str, Any]:
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account}}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return _doc(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ]
    )


def execution_trust(aws: Aws) -> dict[str, Any]:
    account, region, part = aws.account_id(), aws.target.region, aws.partition
    return trust_policy(
        "bedrock-agentcore.amazonaws.com",
        account,
        f"arn:{part}:bedrock-agentcore:{region}:{account}:*",
    )


def model_resources(model: str | None, part: str, region: str, account: str) -> list[str]:
    """ARNs `bedrock:InvokeModel` needs for `bedrock:<id>` (inference profile + its models)."""
    if not model or not model.startswith("bedrock:"):
        return []
    model_id = model.split(":", 1)[1]
    if model_id.startswith("arn:"):
        return [model_id]
    base = model_id
    for prefix in _GEO_PREFIXES:
        if model_id.startswith(prefix):
            base = model_id[len(prefix) :]
            break
    # A cross-region inference profile routes to the foundation model in other regions too.
    out = [f"arn:{part}:bedrock:*::foundation-model/{base}"]
    if base != model_id:
        out.append(f"arn:{part}:bedrock:{region}:{account}:inference-profile/{model_id}")
    return out


def _parameter_arns(paths: Sequence[str], part: str, region: str, account: str) -> list[str]:
    return sorted({f"arn:{part}:ssm:{region}:{account}:parameter/{p.lstrip('/')}" for p in paths})


def execution_policy(aws: Aws, needs: RoleNeeds) -> dict[str, Any]:
    account, region, part = aws.account_id(), aws.target.region, aws.partition
    logs = f"arn:{part}:logs:{region}:{account}:log-group:/aws/bedrock-agentcore/runtimes/*"
    directory = (
        f"arn:{part}:bedrock-agentcore:{region}:{account}:workload-identity-directory/default"
    )
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            "Resource": [logs, f"{logs}:log-stream:*"],
        },
        {
            "Sid": "LogGroups",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": f"arn:{part}:logs:{region}:{account}:log-group:*",
        },
        {
            # X-Ray has no resource-level permissions.
            "Sid": "Traces",
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            "Resource": "*",
        },
        {
            "Sid": "Metrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}},
        },
        {
            "Sid": "WorkloadIdentity",
            "Effect": "Allow",
            "Action": [
                "bedrock-agentcore:GetWorkloadAccessToken",
                "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
                "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
            ],
            "Resource": [directory, f"{directory}/workload-identity/{needs.runtime_name}-*"],
        },
    ]
    models = model_resources(needs.model, part, region, account)
    if models:
        statements.append(
            {
                "Sid": "Model",
                "Effect": "Allow",
                "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                "Resource": models,
            }
        )
    if needs.ssm_parameters:
        statements.append(
            {
                "Sid": "Secrets",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": _parameter_arns(needs.ssm_parameters, part, region, account),
            }
        )
    if needs.telemetry_parameters:
        # A statement of its own: what the agent's code may read (`secrets:`) and what its
        # span export reads stay separately auditable. SecureStrings under the default
        # `aws/ssm` key need no KMS grant (as for `Secrets`; docs/aws.md).
        statements.append(
            {
                "Sid": "TelemetryKeys",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": _parameter_arns(needs.telemetry_parameters, part, region, account),
            }
        )
    if needs.callee_arns:
        arns = sorted(set(needs.callee_arns))
        statements.append(
            {
                "Sid": "InvokeCallees",
                "Effect": "Allow",
                "Action": "bedrock-agentcore:InvokeAgentRuntime",
                "Resource": arns + [f"{a}/runtime-endpoint/*" for a in arns],
            }
        )
    if needs.code_object is not None:
        bucket, prefix = needs.code_object
        statements.append(
            {
                "Sid": "Code",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:{part}:s3:::{bucket}/{prefix}*",
            }
        )
    if needs.repository_arn is not None:
        statements += [
            {
                "Sid": "ImagePull",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": needs.repository_arn,
            },
            {
                "Sid": "RegistryLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
        ]
    return _doc(statements)


def build_policy(aws: Aws, project: str, bucket: str, prefix: str, repo_arn: str) -> dict[str, Any]:
    """The CodeBuild service role: read its build context, write its logs, push one repo."""
    account, region, part = aws.account_id(), aws.target.region, aws.partition
    logs = f"arn:{part}:logs:{region}:{account}:log-group:/aws/codebuild/{project}"
    return _doc(
        [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [logs, f"{logs}:*"],
            },
            {
                "Sid": "Context",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": f"arn:{part}:s3:::{bucket}/{prefix}*",
            },
            {
                "Sid": "RegistryLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "Push",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload",
                    "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload",
                    "ecr:PutImage",
                ],
                "Resource": repo_arn,
            },
        ]
    )
