"""Writes questionnaire-2026-public.items.jsonl: the 2026 public questionnaire's codebook
(../shared/reference/questionnaire-2026-public-codebook.json) in TDuck's fm_user_form_item
layout (form_key, form_item_id, type, label, sort, is_display_type, scheme JSON), the input of
`holdout schema init --tduck-form`. Deterministic: run it again and the file is the same.

    python3 tests/data/tduck/make_items.py ../shared/reference/questionnaire-2026-public-codebook.json
"""
import ast, json, sys, os

codebook = json.load(open(sys.argv[1]))
form_key = "yCWFPyRr"
out = []
for it in codebook["items"]:
    lit = lambda v: ast.literal_eval(v) if isinstance(v, str) else v
    scheme = {"vModel": it["formItemId"], "config": {"label": it["title"]}}
    display = 1 if it["type"] in ("DESC_TEXT", "DIVIDER", "IMAGE", "PAGINATION") else 0
    if "options" in it:
        opts = []
        for o in lit(it["options"]):
            entry = {"label": o["label"], "value": o["value"]}
            if "children" in o:
                entry["children"] = [{"label": c, "value": c} for c in o["children"]]
            opts.append(entry)
        scheme["config"]["options"] = opts
    if "rows" in it:
        scheme["table"] = {"rows": [{"id": r["id"], "label": r["label"]} for r in lit(it["rows"])],
                           "level": it.get("scale_levels", 5)}
    out.append({"form_key": form_key, "form_item_id": it["formItemId"], "type": it["type"],
                "label": it["title"], "sort": it["sort"], "is_display_type": display,
                "scheme": json.dumps(scheme, ensure_ascii=False)})
path = os.path.join(os.path.dirname(__file__), "questionnaire-2026-public.items.jsonl")
with open(path, "w") as f:
    for row in out:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
