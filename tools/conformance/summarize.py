"""Summarise a junit xml: pass rate over scored tests and each failure's first message line."""
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
passed, failed, skipped = 0, [], []
for tc in root.iter("testcase"):
    f = tc.find("failure") if tc.find("failure") is not None else tc.find("error")
    s = tc.find("skipped")
    if f is not None:
        msg = (f.get("message") or "").replace("\n", " ")[:230]
        failed.append((tc.get("name"), msg))
    elif s is not None:
        skipped.append((tc.get("name"), (s.get("message") or "")[:120]))
    else:
        passed += 1
scored = passed + len(failed)
print(f"passed {passed} / scored {scored} = {100 * passed / scored:.1f}%  (skipped {len(skipped)})")
if "-v" in sys.argv:
    for n, m in skipped:
        print("SKIP", n, "|", m)
    for n, m in failed:
        print("FAIL", n, "|", m)
