"""What template.yaml deploys, checked without an account: the template as the SAM transform
makes it (scripts/translate_template.py, as `sam validate` and `sam deploy` run it), for the prod
stage and a dev stage, and the pre-traffic hook's own code run against stubbed AWS clients.

    .venv/bin/python scripts/test_template.py      # exits non-zero on the first failure

What each function's policy may do is checked against what its code calls by
faults/tests/permissions.rs (cargo test, on moto); here, that SAM adds nothing to those policies
but the logging and tracing managed policies, and that nothing is public but the public routes (health, the catalog reads, the console's files).
"""

import contextlib
import io
import json
import os
import sys
import types
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import logging  # noqa: E402

logging.disable(logging.WARNING)  # the translator's feature-toggle chatter
from translate_template import source, translated  # noqa: E402

HOOK = "PreTrafficHookFunction"
# The health check, the catalog reads, and the console's pages and files (WebFunction: they hold
# no data; every call they make carries the signed-in user's token).
PUBLIC = {("GET", "/health"), ("GET", "/products"), ("GET", "/products/{id}"), ("GET", "/products/{id}/prices"),
          ("GET", "/{proxy+}")}
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
STREAM_READS = "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole"
SOURCE = source()
STAGES = {stage: translated({"Stage": stage})["Resources"] for stage in ("prod", "dev")}


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def shop_functions(resources):
    return sorted(n for n in of_type(resources, "AWS::Lambda::Function") if n != HOOK)


def resolve_if(value, stage):
    """`value` with `Fn::If: [IsProd, a, b]` chosen for `stage` (the only condition used here)."""
    if isinstance(value, dict) and "Fn::If" in value:
        condition, yes, no = value["Fn::If"]
        assert condition == "IsProd", condition
        return resolve_if(yes if stage == "prod" else no, stage)
    return value


class Releases(unittest.TestCase):
    def test_every_function_is_released_through_its_live_alias_with_alarms_and_the_hook(self):
        for stage, resources in STAGES.items():
            functions = shop_functions(resources)
            self.assertEqual(len(functions), 29, stage)
            aliases = of_type(resources, "AWS::Lambda::Alias")
            groups = of_type(resources, "AWS::CodeDeploy::DeploymentGroup")
            self.assertEqual(len(groups), len(functions), f"{stage}: one deployment group per function, none for the hook")
            for fn in functions:
                with self.subTest(stage=stage, function=fn):
                    alias = aliases[f"{fn}Aliaslive"]
                    self.assertEqual(alias["Properties"]["FunctionName"], {"Ref": fn})
                    self.assertEqual(alias["Properties"]["Name"], "live")
                    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
                    self.assertEqual(update["BeforeAllowTrafficHook"], {"Ref": HOOK})
                    group = groups[update["DeploymentGroupName"]["Ref"]]["Properties"]
                    alarms = {a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]}
                    self.assertEqual(alarms, {"Api5xxAlarm", "ApiLatencyAlarm", f"{fn}ErrorsAlarm"})
                    self.assertTrue(group["AlarmConfiguration"]["Enabled"])
                    rollback = group["AutoRollbackConfiguration"]
                    self.assertTrue(rollback["Enabled"])
                    self.assertLessEqual({"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}, set(rollback["Events"]))
                    config = resolve_if(group["DeploymentConfigName"], stage)
                    expected = "Canary10Percent5Minutes" if stage == "prod" else "AllAtOnce"
                    self.assertEqual(config["Fn::Sub"][1]["ConfigName"], expected)

    def test_each_function_has_an_errors_alarm_on_its_live_alias(self):
        resources = STAGES["prod"]
        for fn in shop_functions(resources):
            with self.subTest(function=fn):
                alarm = resources[f"{fn}ErrorsAlarm"]["Properties"]
                self.assertEqual((alarm["Namespace"], alarm["MetricName"]), ("AWS/Lambda", "Errors"))
                dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
                self.assertEqual(dims, {"FunctionName": {"Ref": fn}, "Resource": {"Fn::Sub": "${%s}:live" % fn}})
                self.assertEqual((alarm["Threshold"], alarm["ComparisonOperator"]), (1, "GreaterThanOrEqualToThreshold"))

    def test_routes_permissions_and_stream_mappings_invoke_the_alias(self):
        resources = STAGES["prod"]
        body = next(iter(of_type(resources, "AWS::ApiGatewayV2::Api").values()))["Properties"]["Body"]
        uris = [op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"] for ops in body["paths"].values() for op in ops.values()]
        self.assertEqual(len(uris), 27)
        for uri in uris:
            self.assertRegex(uri, r"/functions/\$\{\w+FunctionAliaslive\}/invocations$")
        for name, perm in of_type(resources, "AWS::Lambda::Permission").items():
            self.assertRegex(perm["Properties"]["FunctionName"]["Ref"], r"FunctionAliaslive$", name)
        mappings = of_type(resources, "AWS::Lambda::EventSourceMapping")
        self.assertEqual(len(mappings), 2)
        for name, mapping in mappings.items():
            self.assertRegex(mapping["Properties"]["FunctionName"]["Ref"], r"FunctionAliaslive$", name)


class Exposure(unittest.TestCase):
    def test_only_the_public_routes_skip_the_jwt_authorizer(self):
        body = next(iter(of_type(STAGES["prod"], "AWS::ApiGatewayV2::Api").values()))["Properties"]["Body"]
        public = set()
        for path, ops in body["paths"].items():
            for method, op in ops.items():
                security = op.get("security")
                if security == [{"NONE": []}]:
                    public.add((method.upper(), path))
                else:
                    self.assertEqual(security, [{"ShopJwt": []}], f"{method} {path}")
        self.assertEqual(public, PUBLIC)

    def test_nothing_else_is_reachable_from_outside(self):
        resources = STAGES["prod"]
        kinds = {r["Type"] for r in resources.values()}
        for kind in ("AWS::Lambda::Url", "AWS::S3::Bucket", "AWS::ApiGateway::RestApi", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            self.assertNotIn(kind, kinds)
        for name, perm in of_type(resources, "AWS::Lambda::Permission").items():
            props = perm["Properties"]
            self.assertEqual(props["Principal"], "apigateway.amazonaws.com", name)
            arn, values = props["SourceArn"]["Fn::Sub"]
            self.assertEqual(values["__ApiId__"], {"Ref": "HttpApi"}, name)

    def test_sam_adds_nothing_to_the_functions_policies_but_logging_and_tracing(self):
        resources = STAGES["prod"]
        for fn in shop_functions(resources):
            with self.subTest(function=fn):
                role = resources[f"{fn}Role"]["Properties"]
                events = SOURCE["Resources"][fn]["Properties"]["Events"].values()
                # SAM's own for a DynamoDB stream event: the stream reads the event source
                # mapping makes for the function (on any stream: AWS's managed policy).
                streams = {STREAM_READS} if any(e["Type"] == "DynamoDB" for e in events) else set()
                self.assertEqual(set(role["ManagedPolicyArns"]), MANAGED | streams)
                written = SOURCE["Resources"][fn]["Properties"].get("Policies", [])
                made = [p["PolicyDocument"] for p in role.get("Policies", [])]
                if streams:
                    # And the stream's on-failure destination: the dead-letter queue, only.
                    dead_letters = {"Action": "sqs:SendMessage", "Effect": "Allow",
                                    "Resource": {"Fn::GetAtt": ["NotificationsDeadLetterQueue", "Arn"]}}
                    written = written + [{"Statement": [dead_letters]}]
                self.assertEqual(made, written)
                for document in made:
                    for statement in document["Statement"]:
                        self.assertEqual(statement["Effect"], "Allow")
                        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                        for action in actions:
                            self.assertNotIn("*", action)
                        resources_ = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                        for target in resources_:
                            self.assertNotEqual(target, "*")


class ConsoleSignIn(unittest.TestCase):
    def test_console_url_adds_a_pkce_only_client_the_authorizer_accepts_and_tells_the_pages(self):
        url = "https://abc123.execute-api.eu-west-1.amazonaws.com"
        resources = translated({"ConsoleUrl": url})["Resources"]
        client = resources["ConsoleClient"]
        self.assertEqual(client["Condition"], "HasConsoleSignIn")
        props = client["Properties"]
        self.assertEqual(props["AllowedOAuthFlows"], ["code"])
        self.assertTrue(props["AllowedOAuthFlowsUserPoolClient"])
        self.assertFalse(props["GenerateSecret"])
        self.assertEqual(props["CallbackURLs"], [{"Fn::Sub": "${ConsoleUrl}/shop"}, {"Fn::Sub": "${ConsoleUrl}/admin"}])
        self.assertEqual(props["ExplicitAuthFlows"], ["ALLOW_REFRESH_TOKEN_AUTH"], "no password flows for the console")
        self.assertEqual(resources["ConsoleDomain"]["Condition"], "HasConsoleSignIn")
        body = next(iter(of_type(resources, "AWS::ApiGatewayV2::Api").values()))["Properties"]["Body"]
        audience = body["components"]["securitySchemes"]["ShopJwt"]["x-amazon-apigateway-authorizer"]["jwtConfiguration"]["audience"]
        with_console = audience["Fn::If"][1]["Fn::If"]
        self.assertEqual(with_console[0], "HasConsoleSignIn")
        self.assertEqual(with_console[1], [{"Ref": "UserPoolClient"}, {"Ref": "ConsoleClient"}])
        self.assertEqual(with_console[2], [{"Ref": "UserPoolClient"}])
        env = resources["WebFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["CONSOLE_CLIENT_ID"], {"Fn::If": ["HasConsoleSignIn", {"Ref": "ConsoleClient"}, {"Ref": "AWS::NoValue"}]})
        self.assertIn("amazoncognito.com", env["CONSOLE_SIGN_IN_URL"]["Fn::If"][1]["Fn::Sub"])
        condition = translated({"ConsoleUrl": url})["Conditions"]["HasConsoleSignIn"]
        self.assertEqual(condition["Fn::And"][0], {"Condition": "UseCognito"})


def hook_module(clients):
    """The hook's InlineCode, loaded as Lambda loads it, with `clients` in place of boto3's."""
    code = SOURCE["Resources"][HOOK]["Properties"]["InlineCode"]
    boto3 = types.SimpleNamespace(client=lambda name: clients[name])
    module = types.ModuleType("index")
    sys.modules["boto3"], saved = boto3, sys.modules.get("boto3")
    try:
        exec(compile(code, "index.py", "exec"), module.__dict__)  # noqa: S102 - the code under test
    finally:
        if saved is not None:
            sys.modules["boto3"] = saved
    return module


class FakeAws:
    """CodeDeploy and Lambda as the hook sees them: one deployment of `function` to `version`,
    whose Handler is `handler` and whose invocation answers `answer` (a payload, or an error)."""

    def __init__(self, handler, answer, function_error=None):
        self.handler, self.answer, self.function_error = handler, answer, function_error
        self.reported, self.invoked = [], []

    # codedeploy
    def list_deployment_targets(self, deploymentId):
        return {"targetIds": ["stockroom-GetProductFunction-ABC:live"]}

    def get_deployment_target(self, deploymentId, targetId):
        info = {"functionName": "stockroom-GetProductFunction-ABC", "targetVersion": "7"}
        return {"deploymentTarget": {"lambdaTarget": {"lambdaFunctionInfo": info}}}

    def put_lifecycle_event_hook_execution_status(self, deploymentId, lifecycleEventHookExecutionId, status):
        self.reported.append((deploymentId, lifecycleEventHookExecutionId, status))

    # lambda
    def get_function_configuration(self, FunctionName, Qualifier):
        return {"Handler": self.handler}

    def invoke(self, FunctionName, Qualifier, Payload):
        self.invoked.append((FunctionName, Qualifier, json.loads(Payload)))
        answer = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.answer).encode())}
        if self.function_error:
            answer["FunctionError"] = self.function_error
        return answer


class Hook(unittest.TestCase):
    EVENT = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "h-1"}

    def run_hook(self, fake):
        os.environ["PROBES"] = resolve_probes()
        hook = hook_module({"codedeploy": fake, "lambda": fake})
        with contextlib.redirect_stdout(io.StringIO()):
            status = hook.handler(dict(self.EVENT), None)
        self.assertEqual(fake.reported, [("d-1", "h-1", status)], "reports exactly once, its own result")
        return status

    def test_a_version_that_answers_its_probe_as_expected_takes_traffic(self):
        fake = FakeAws("get_product", {"statusCode": 404, "body": "{}"})
        self.assertEqual(self.run_hook(fake), "Succeeded")
        name, version, event = fake.invoked[0]
        self.assertEqual((name, version), ("stockroom-GetProductFunction-ABC", "7"), "the new version, not the alias")
        self.assertEqual(event["routeKey"], "GET /products/{id}")
        self.assertEqual(event["rawPath"], "/products/probe")
        self.assertEqual(event["pathParameters"], {"id": "probe"})
        self.assertNotIn("authorizer", event["requestContext"], "no token: the probe reads or is refused")

    def test_a_version_that_answers_otherwise_fails_the_deployment(self):
        self.assertEqual(self.run_hook(FakeAws("get_product", {"statusCode": 500, "body": "{}"})), "Failed")
        self.assertEqual(self.run_hook(FakeAws("get_product", "not an API answer")), "Failed")

    def test_a_version_that_crashes_fails_the_deployment(self):
        fake = FakeAws("place_order", {"errorMessage": "panicked"}, function_error="Unhandled")
        self.assertEqual(self.run_hook(fake), "Failed")

    def test_a_stream_consumer_is_probed_with_an_empty_batch(self):
        fake = FakeAws("on_order_change", {"batchItemFailures": []})
        self.assertEqual(self.run_hook(fake), "Succeeded")
        self.assertEqual(fake.invoked[0][2], {"Records": []})
        self.assertEqual(self.run_hook(FakeAws("on_order_change", {"batchItemFailures": [{"itemIdentifier": "1"}]})), "Failed")

    def test_a_handler_without_a_probe_or_a_failing_lookup_fails_the_deployment(self):
        self.assertEqual(self.run_hook(FakeAws("no_such_handler", {"statusCode": 200})), "Failed")

        class Broken(FakeAws):
            def list_deployment_targets(self, deploymentId):
                raise RuntimeError("throttled")

        self.assertEqual(self.run_hook(Broken("get_product", {"statusCode": 404})), "Failed")


def resolve_probes():
    return SOURCE["Resources"][HOOK]["Properties"]["Environment"]["Variables"]["PROBES"]


class Probes(unittest.TestCase):
    def test_every_function_has_a_probe_for_its_own_route(self):
        probes = json.loads(resolve_probes())
        functions = {n: r for n, r in SOURCE["Resources"].items() if r["Type"] == "AWS::Serverless::Function" and n != HOOK}
        self.assertEqual(set(probes), {r["Properties"]["Handler"] for r in functions.values()})
        for name, resource in functions.items():
            with self.subTest(function=name):
                props = resource["Properties"]
                probe = probes[props["Handler"]]
                (event,) = props["Events"].values()
                if event["Type"] != "HttpApi":
                    self.assertEqual(probe, "stream")
                    continue
                method, route, status = probe.split(" ")
                self.assertEqual((method, route), (event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
                if (method, route) not in PUBLIC:
                    self.assertEqual(status, "401", "a protected route refuses a request with no token")

    def test_the_hook_may_only_read_deployments_and_invoke_this_stacks_functions(self):
        hook = SOURCE["Resources"][HOOK]["Properties"]
        self.assertTrue(hook["FunctionName"]["Fn::Sub"].startswith("CodeDeployHook_"))
        statements = hook["Policies"][0]["Statement"]
        actions = sorted(a for s in statements for a in s["Action"])
        self.assertEqual(actions, sorted([
            "codedeploy:ListDeploymentTargets", "codedeploy:GetDeploymentTarget",
            "codedeploy:PutLifecycleEventHookExecutionStatus",
            "lambda:GetFunctionConfiguration", "lambda:InvokeFunction",
        ]))
        resources = [s["Resource"]["Fn::Sub"] for s in statements]
        self.assertTrue(resources[0].endswith(":deploymentgroup:${ServerlessDeploymentApplication}/*"))
        self.assertTrue(resources[1].endswith(":function:${AWS::StackName}-*"))


if __name__ == "__main__":
    unittest.main(verbosity=1)
