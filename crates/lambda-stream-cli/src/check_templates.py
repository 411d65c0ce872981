"""`lambda-stream templates check DIR`: validates every template in DIR. The command writes
this file (embedded in it) to a temporary file and runs it with a Python that has cfn-lint and
aws-sam-translator: `python check_templates.py DIR OUT`, or `--self-test`.

1. SAM templates are translated to CloudFormation with aws-sam-translator (cfn-lint no longer
   runs the SAM transform, so mistakes inside AWS::Serverless::Function events would pass
   unnoticed otherwise). The translations are written to OUT.
2. cfn-lint runs on the templates and on their translations.
3. Our own rules, on the translated resources:
   - IAM: no "*" action (nor "service:*"), in roles, resource policies and key policies; no
     "*" resource unless every action in the statement is one AWS offers no resource-level
     permission for, and the template line carries a comment saying so (a key policy's "*"
     is its key); no managed policies (functions get explicit roles).
   - Functions: provided.al2023 on arm64.
   - Stream event source mappings: ReportBatchItemFailures, bisect on error, bounded retries,
     an on-failure destination. SQS ones: ReportBatchItemFailures, and the queue has a
     redrive policy (its bounded retries and on-failure destination).
   - event-hub.yaml's rule patterns equal event-hub.patterns.json beside it, when there is one
     (the copy the tests route with).

`--self-test` checks that rule 3 catches what it should, on small bad templates.
"""

import glob
import json
import logging
import os
import re
import subprocess
import sys

from cfnlint.decode import cfn_yaml
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform


# Actions AWS offers no resource-level permissions for: the only ones allowed on "*".
STAR_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "cloudwatch:PutMetricData",
}

# Rule (or archive) logical id in event-hub.yaml -> its pattern's name in the patterns file.
HUB_PATTERNS = {
    "InternalRule": "internal",
    "IngressRule": "ingress",
    "EgressRule": "egress",
    "FaultRule": "faults",
    "LakeRule": "lake",
    "Archive": "lake",
}


class NoManagedPolicies(ManagedPolicyLoader):
    """SAM asks for managed policy ARNs only when it makes a role; ours never do, and this
    keeps the translation offline."""

    def __init__(self):  # pylint: disable=super-init-not-called
        pass

    def load(self):
        return {}


def plain(node):
    """cfn-lint's YAML nodes as plain dicts, lists and strings."""
    return json.loads(json.dumps(node, default=str))


def as_list(value):
    return value if isinstance(value, list) else [value]


def statements(document):
    """A policy document's statements, both branches of a conditional one included."""
    for statement in as_list(document.get("Statement") or []):
        branches = statement.get("Fn::If") if isinstance(statement, dict) else None
        if isinstance(branches, list) and len(branches) == 3:
            yield from (b for b in branches[1:] if isinstance(b, dict) and "Ref" not in b)
        elif isinstance(statement, dict):
            yield statement


def policy_documents(resource):
    """Every policy document of an IAM-bearing resource, with where it is."""
    kind = resource.get("Type")
    props = resource.get("Properties") or {}
    if kind == "AWS::IAM::Role":
        for policy in props.get("Policies") or []:
            yield policy.get("PolicyName", "?"), policy.get("PolicyDocument") or {}
    elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        yield "policy", props.get("PolicyDocument") or {}
    elif kind in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy"):
        yield "resource policy", props.get("PolicyDocument") or {}
    elif kind == "AWS::Events::EventBusPolicy":
        yield "bus policy", {"Statement": [props.get("Statement") or {}]}
    elif kind == "AWS::KMS::Key":
        yield KEY_POLICY, props.get("KeyPolicy") or {}


# In a key policy, Resource "*" is the key itself (the only resource it can name): its actions
# are checked, its resource is not.
KEY_POLICY = "key policy"


def star_lines_commented(source_text):
    """Each template line granting Resource "*" must carry (or follow) a comment."""
    problems = []
    lines = source_text.splitlines()
    for number, line in enumerate(lines):
        if not re.search(r"Resource:\s*['\"]\*['\"]|^\s*-\s*['\"]\*['\"]\s*(#.*)?$", line):
            continue
        previous = lines[number - 1].strip() if number > 0 else ""
        if "#" not in line and not previous.startswith("#"):
            problems.append(f"line {number + 1}: Resource '*' without a comment saying why")
    return problems


def check_iam(resources, source_text):
    problems = star_lines_commented(source_text)
    for name, resource in resources.items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::IAM::Role" and props.get("ManagedPolicyArns"):
            problems.append(f"{name}: managed policies {props['ManagedPolicyArns']}: use an explicit least-privilege policy")
        for policy, document in policy_documents(resource):
            for statement in statements(document):
                if statement.get("Effect") != "Allow":
                    continue
                actions = [a for a in as_list(statement.get("Action") or []) if isinstance(a, str)]
                for action in actions:
                    if action == "*" or action.endswith(":*"):
                        problems.append(f"{name}/{policy}: action {action!r}")
                resources_ = as_list(statement.get("Resource") or [])
                if "*" in resources_ and policy != KEY_POLICY:
                    unjustified = [a for a in actions if a not in STAR_RESOURCE_ACTIONS]
                    if unjustified:
                        problems.append(f"{name}/{policy}: resource '*' for {unjustified}")
    return problems


# Dynamic references that put a secret's value into the template where they are used.
SECRET_REFERENCES = ("{{resolve:secretsmanager:", "{{resolve:ssm-secure:")


def check_functions(resources):
    problems = []
    for name, resource in resources.items():
        props = resource.get("Properties") or {}
        kind = resource.get("Type")
        if kind == "AWS::Lambda::Function":
            if props.get("Runtime") != "provided.al2023":
                problems.append(f"{name}: runtime {props.get('Runtime')!r}, not provided.al2023")
            if props.get("Architectures") != ["arm64"]:
                problems.append(f"{name}: architectures {props.get('Architectures')!r}, not arm64")
            variables = ((props.get("Environment") or {}).get("Variables")) or {}
            for variable, value in variables.items():
                if any(kind in json.dumps(value) for kind in SECRET_REFERENCES):
                    problems.append(f"{name}: {variable} resolves a secret into the environment, "
                                    f"where reading the function's configuration shows it: "
                                    f"give {variable}_ARN and read it at cold start")
        if kind != "AWS::Lambda::EventSourceMapping":
            continue
        if "ReportBatchItemFailures" not in (props.get("FunctionResponseTypes") or []):
            problems.append(f"{name}: no ReportBatchItemFailures")
        source = props.get("EventSourceArn")
        queue = source.get("Fn::GetAtt", [None])[0] if isinstance(source, dict) else None
        queue_resource = resources.get(queue) or {}
        if queue_resource.get("Type") == "AWS::SQS::Queue" or ":sqs:" in json.dumps(source):
            queue_props = queue_resource.get("Properties") or {}
            if not queue_props.get("RedrivePolicy"):
                problems.append(f"{name}: its queue {queue} has no RedrivePolicy (bounded retries, dead-letter queue)")
            continue
        if props.get("BisectBatchOnFunctionError") is not True:
            problems.append(f"{name}: BisectBatchOnFunctionError is not true")
        retries = props.get("MaximumRetryAttempts")
        if not isinstance(retries, int) or retries < 0:
            problems.append(f"{name}: MaximumRetryAttempts {retries!r} is not bounded")
        if not ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"):
            problems.append(f"{name}: no on-failure destination")
    return problems


def check_hub_patterns(resources, patterns_file):
    with open(patterns_file, encoding="utf-8") as file:
        expected = json.load(file)
    problems = []
    for name, pattern_name in HUB_PATTERNS.items():
        pattern = ((resources.get(name) or {}).get("Properties") or {}).get("EventPattern")
        text = json.dumps(pattern).replace('{"Ref": "AWS::AccountId"}', '"${AWS::AccountId}"')
        if json.loads(text) != expected[pattern_name]:
            problems.append(f"{name}: pattern {text} differs from event-hub.patterns.json {pattern_name}")
    return problems


def translate(template):
    # The translator fills pseudo parameters from the region; nothing is called.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = plain(template)
    # Local code paths become S3 locations, as `sam package` would make them.
    for name, resource in (template.get("Resources") or {}).items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and not str(props.get("CodeUri", "")).startswith("s3://"):
            props["CodeUri"] = f"s3://packaged-code/{name}.zip"
    return transform(template, {}, NoManagedPolicies())


def main(templates, out):
    # The translator warns about usage metrics it never publishes offline.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    os.makedirs(out, exist_ok=True)
    problems = []
    lint_targets = []
    paths = sorted(glob.glob(os.path.join(templates, "*.yaml")))
    if not paths:
        print(f"{templates}: no *.yaml templates to check", file=sys.stderr)
        return 2
    patterns_file = os.path.join(templates, "event-hub.patterns.json")
    for path in paths:
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as file:
            source_text = file.read()
        template = cfn_yaml.load(path)
        lint_targets.append(path)
        resources = plain(template.get("Resources") or {})
        if "AWS::Serverless" in json.dumps(plain(template.get("Transform", ""))):
            try:
                translated = translate(template)
            except Exception as error:  # the translator's errors name the resource
                problems.append(f"{name}: SAM translation failed: {error}")
                continue
            translation = os.path.join(out, name.replace(".yaml", ".json"))
            with open(translation, "w", encoding="utf-8") as file:
                json.dump(translated, file, indent=2)
            lint_targets.append(translation)
            resources = translated.get("Resources") or {}
        found = check_iam(resources, source_text) + check_functions(resources)
        if name == "event-hub.yaml" and os.path.exists(patterns_file):
            found += check_hub_patterns(resources, patterns_file)
        problems += [f"{name}: {p}" for p in found]
        print(f"checked {name}: {len(resources)} resources")

    # The cfn-lint of this Python, whatever PATH says.
    cfn_lint = "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())"
    lint = subprocess.run([sys.executable, "-c", cfn_lint, *lint_targets], check=False)
    if lint.returncode != 0:
        problems.append(f"cfn-lint found problems (exit {lint.returncode})")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"{len(lint_targets)} templates and translations pass cfn-lint and the IAM and mapping rules")
    return 0


def self_test():
    """The rules flag what they should."""
    role = lambda statement: {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [statement]}}]}}}
    assert check_iam(role({"Effect": "Allow", "Action": "*", "Resource": "arn:x"}), "")
    assert check_iam(role({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:x"}), "")
    assert check_iam(role({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}), "")
    assert not check_iam(role({"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}),
                         "# X-Ray has no resource-level permissions\nResource: '*'\n")
    assert star_lines_commented("Action: xray:PutTraceSegments\nResource: '*'\n")
    assert not check_iam(role({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:x"}), "")
    conditional = {"Fn::If": ["C", {"Effect": "Allow", "Action": "kms:*", "Resource": "arn:x"},
                              {"Ref": "AWS::NoValue"}]}
    assert check_iam(role(conditional), ""), "a conditional statement is checked too"
    key = lambda action: {"K": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}}}}
    assert check_iam(key("kms:*"), "# the key\n"), "a key policy's actions are checked"
    assert not check_iam(key(["kms:Decrypt"]), "# the key\n"), "its '*' is the key"
    assert check_iam({"R": {"Type": "AWS::IAM::Role", "Properties": {
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}}}, "")
    mapping = {"M": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
        "EventSourceArn": "arn:aws:kinesis:us-east-1:1:stream/s", "FunctionResponseTypes": [],
        "MaximumRetryAttempts": -1}}}
    assert len(check_functions(mapping)) == 4, check_functions(mapping)
    function = {"F": {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "provided.al2", "Architectures": ["x86_64"]}}}
    assert len(check_functions(function)) == 2
    leaky = {"F": {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "provided.al2023", "Architectures": ["arm64"], "Environment": {"Variables": {
            "API_KEY": {"Fn::Sub": "{{resolve:secretsmanager:${Name}:SecretString:apiKey}}"},
            "API_KEY_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf#apiKey"}}}}}
    found = check_functions(leaky)
    assert len(found) == 1 and found[0].startswith("F: API_KEY resolves a secret"), found
    queue = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {}},
             "M": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                 "EventSourceArn": {"Fn::GetAtt": ["Q", "Arn"]},
                 "FunctionResponseTypes": ["ReportBatchItemFailures"]}}}
    assert check_functions(queue) == ["M: its queue Q has no RedrivePolicy (bounded retries, dead-letter queue)"]
    print("template rules: self-test passed")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    if len(sys.argv) != 3:
        print("usage: check_templates.py DIR OUT | --self-test", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
