#!/usr/bin/python3
"""The OpenAPI document kept honest against a real reeld:

- GET /v1/openapi.json (bearer token) serves src/api/openapi.json as built; it is
  OpenAPI 3.1, every $ref resolves and every schema is valid JSON Schema 2020-12.
- Every documented operation is called (path ids from the objects the examples
  created), every documented request example is sent as is, and each answer's
  status must be documented for that operation and its body must validate against
  the documented schema. Examples marked x-expect-status must get that status.
- Error answers (404 for an unknown id, 401 without a token) validate as Error.
"""

import json
import os
import sys

import jsonschema

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import reeltest as rt  # noqa: E402

DOC_PATH = os.path.join(rt.SOURCE_ROOT, "src", "api", "openapi.json")
METHODS = ("get", "post", "patch", "delete", "put")


class OpenApiTest(rt.ReelTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(DOC_PATH) as f:
            cls.doc = json.load(f)
        cls.d = rt.ReelDaemon(cls)
        cls.called = set()
        cls._class_ready = True

    def validate(self, schema, instance, what):
        root = dict(schema, components=self.doc["components"])
        errors = sorted(jsonschema.Draft202012Validator(root).iter_errors(instance), key=str)
        self.assertEqual(errors, [], "%s: %s\n%s" % (what, "\n".join(e.message for e in errors[:5]),
                                                     rt.pretty(instance)[:2000]))

    def call(self, path_template, method, path, body=None, expect=None, token=rt._DEFAULT):
        """Sends the request; checks the answer against the document; returns the body."""
        op = self.doc["paths"][path_template][method]
        status, answer, raw = self.d.api(method.upper(), path, body, token=token)
        what = "%s %s → %d" % (method.upper(), path, status)
        if expect is not None:
            self.assertEqual(status, expect, what + " " + str(raw)[:500])
        self.assertIn(str(status), op["responses"], what + ": status not documented")
        content = op["responses"][str(status)].get("content", {})
        if "application/json" in content:
            self.validate(content["application/json"]["schema"], answer, what)
        self.called.add((path_template, method))
        return answer

    def examples(self, path_template, method):
        body = self.doc["paths"][path_template][method]["requestBody"]["content"]["application/json"]
        for name, ex in body["examples"].items():
            self.validate(body["schema"], ex["value"], "%s example %s" % (path_template, name)) \
                if "x-expect-status" not in ex else None
            yield name, ex["value"], ex.get("x-expect-status")

    def test_document_is_served_and_valid(self):
        served = self.call("/v1/openapi.json", "get", "/v1/openapi.json", expect=200)
        self.assertEqual(served, self.doc, "the served document is src/api/openapi.json")
        self.assertEqual(self.doc["openapi"], "3.1.0")
        for name, schema in self.doc["components"]["schemas"].items():
            jsonschema.Draft202012Validator.check_schema(schema)
        text = json.dumps(self.doc)
        for ref in set(__import__("re").findall(r'"\$ref": "#/components/schemas/(\w+)"', text)):
            self.assertIn(ref, self.doc["components"]["schemas"])
        status, body, _ = self.d.api("GET", "/v1/openapi.json", token=None)
        self.assertEqual(status, 401)
        self.validate({"$ref": "#/components/schemas/Error"}, body, "401")

    def test_every_operation(self):
        rec_id = None
        for name, body, want in self.examples("/v1/recordings", "post"):
            rec = self.call("/v1/recordings", "post", "/v1/recordings", body, expect=want or 201)
            if want is None:
                rec_id = rec["id"]
        self.assertIsNotNone(rec_id)
        self.d.wait_state(rec_id, "recording", timeout=20)
        self.call("/v1/recordings", "get", "/v1/recordings", expect=200)
        self.call("/v1/recordings/{id}", "get", "/v1/recordings/" + rec_id, expect=200)
        self.call("/v1/recordings/{id}", "get", "/v1/recordings/rec_0000", expect=404)
        for name, body, want in self.examples("/v1/recordings/{id}", "patch"):
            self.call("/v1/recordings/{id}", "patch", "/v1/recordings/" + rec_id, body, expect=want or 200)
        self.call("/v1/recordings/{id}/stop", "post", "/v1/recordings/%s/stop" % rec_id, expect=202)
        self.d.wait_state(rec_id, "finished", timeout=30)
        self.call("/v1/recordings/{id}", "get", "/v1/recordings/" + rec_id, expect=200)
        self.call("/v1/recordings/{id}/stop", "post", "/v1/recordings/%s/stop" % rec_id, expect=409)

        sch_id = None
        for name, body, want in self.examples("/v1/schedules", "post"):
            s = self.call("/v1/schedules", "post", "/v1/schedules", body, expect=want or 201)
            sch_id = sch_id or s.get("id")
        self.call("/v1/schedules", "get", "/v1/schedules", expect=200)
        self.call("/v1/schedules/{id}", "get", "/v1/schedules/" + sch_id, expect=200)
        self.call("/v1/schedules/{id}", "delete", "/v1/schedules/" + sch_id, expect=204)
        self.call("/v1/schedules/{id}", "get", "/v1/schedules/" + sch_id, expect=404)
        self.call("/healthz", "get", "/healthz", expect=200, token=None)
        self.call("/metrics", "get", "/metrics", expect=200, token=None)
        self.call("/v1/openapi.json", "get", "/v1/openapi.json", expect=200)

        documented = {(p, m) for p, ops in self.doc["paths"].items() for m in ops if m in METHODS}
        self.assertEqual(documented - self.called, set(), "documented operations never called")


if __name__ == "__main__":
    rt.main()
