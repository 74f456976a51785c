"""template.yaml as CloudFormation deploys it: the SAM transform applied, as `sam validate` and
`sam deploy` apply it, with no AWS account (local code paths become placeholder S3 URIs, as
`sam validate` makes them; no managed policy is looked up: the template names none).

usage: python scripts/translate_template.py [Name=Value ...]   # parameter values, e.g. Stage=dev
Prints the translated template as JSON. `translated(params)` is what the template test imports.
"""

import copy
import json
import sys
from pathlib import Path

import boto3
from samcli.yamlhelper import yaml_parse
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parent.parent
PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "stockroom",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/stockroom/0",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}


def source(path=ROOT / "template.yaml"):
    """template.yaml as SAM reads it (short-form intrinsics as their long forms)."""
    return yaml_parse(Path(path).read_text())


def translated(params=None, template=None):
    """The CloudFormation template the SAM transform makes of `template` (template.yaml)."""
    sam = copy.deepcopy(template if template is not None else source())
    globals_fn = sam.get("Globals", {}).get("Function", {})
    if isinstance(globals_fn.get("CodeUri"), str):
        globals_fn["CodeUri"] = "s3://placeholder/code.zip"
    for resource in sam["Resources"].values():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://placeholder/code.zip"
    values = dict(PSEUDO)
    values.update(params or {})
    # The region comes from a boto session, as `sam validate` passes one; no call is made.
    session = boto3.session.Session(region_name=PSEUDO["AWS::Region"])
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), plugins=[], boto_session=session)
    try:
        return translator.translate(sam_template=sam, parameter_values=values, get_managed_policy_map=lambda: {})
    except InvalidDocumentException as err:
        causes = " ".join(str(cause) for cause in err.causes)
        raise SystemExit(f"template.yaml does not translate: {err} {causes}") from err


if __name__ == "__main__":
    params = dict(arg.split("=", 1) for arg in sys.argv[1:])
    json.dump(translated(params), sys.stdout, indent=1, default=str)
    print()
