#!/usr/bin/env python3
"""`trainfleet report` rendered in a real browser.

Makes a training run (neural and classical), a CV, a study and a comparison
on small data, writes each report.html, and renders it with headless
Chromium (fresh --user-data-dir): the PNG must be written, the page must log
no console errors, and the rendered DOM must hold the expected plots (SVG
elements by id, with their lines, dots, bars or cells). Layout checks: the
confusion matrix's column names are whole and slanted (they never run into
each other), epoch/fold/trial axes have whole-number ticks, every legend name
fits inside its chart, tick labels are distinct (enough digits to tell them
apart), bar names fit left of their bars, the best epoch is marked on the
learning curves with its label inside the plot (not over the legend), a flat
learning rate is drawn on its own scale (not at 0 on a -0.5..0.5 axis), long
tick labels get the margin they need, a one-epoch run draws its single point
of each curve, and a second `report` keeps report.html and writes
report-2.html.

usage: test_report_browser.py TRAINFLEET   (exit 77: no chromium)
TF_REPORT_PNG_DIR=folder keeps the screenshots there, to look at them.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    print("skipped: chromium not installed")
    sys.exit(77)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def render(html, tmp, tag):
    url = "file://" + os.path.abspath(html)
    png = f"{tmp}/{tag}.png"
    shot = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp}/profile-{tag}-1", "--window-size=1200,1800",
                           f"--screenshot={png}", url], capture_output=True, text=True, timeout=120)
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp}/profile-{tag}-2", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and dom.returncode == 0, (shot.stderr[-2000:], dom.stderr[-2000:])
    assert os.path.getsize(png) > 20000, f"{png}: {os.path.getsize(png)} bytes"
    if os.environ.get("TF_REPORT_PNG_DIR"):
        shutil.copy(png, os.environ["TF_REPORT_PNG_DIR"])
    errors = [l for l in (shot.stderr + dom.stderr).splitlines() if "CONSOLE" in l or "Uncaught" in l]
    assert not errors, errors
    return dom.stdout


def svg(dom, id_):
    m = re.search(r'<svg id="' + re.escape(id_) + r'"(.*?)</svg>', dom, re.S)
    assert m, f"no <svg id={id_}>"
    return m.group(1)


def attr(tag, name):
    return float(re.search(r'\b' + name + r'="([-0-9.e]+)"', tag).group(1))


def check_layout(chart_svg, whole_x):
    """Whole-number x ticks (when the axis counts things), distinct tick labels and legends inside the chart."""
    width = attr(chart_svg, "width")
    ticks = re.findall(r'class="a xt"[^>]*>([^<]*)<', chart_svg)
    if whole_x:
        assert ticks and all(float(t) == int(float(t)) for t in ticks), ticks
    yticks = re.findall(r'class="a yt"[^>]*>([^<]*)<', chart_svg)
    for labels in (ticks, yticks):
        assert labels and len(set(labels)) == len(labels), labels
    # y tick labels (text-anchor end) start right of the rotated axis title at x = 12.
    for tag, text in re.findall(r'(<text[^>]*class="a yt"[^>]*>)([^<]*)<', chart_svg):
        assert attr(tag, "x") - 6.6 * len(text) >= 18, (text, attr(tag, "x"))
    for tag, text in re.findall(r'(<text[^>]*class="a lg"[^>]*>)([^<]*)<', chart_svg):
        assert attr(tag, "x") + 6.6 * len(text) <= width, (text, attr(tag, "x"), width)


def y_ticks(chart_svg):
    return [float(t) for t in re.findall(r'class="a yt"[^>]*>([^<]*)<', chart_svg)]


def check_mark_inside(chart_svg):
    """The best-epoch label lies within the plot frame (the first rect without fill)."""
    frame = re.search(r'<rect x="([-0-9.e]+)" y="[-0-9.e]+" width="([-0-9.e]+)"[^>]*fill="none"', chart_svg)
    left, right = float(frame.group(1)), float(frame.group(1)) + float(frame.group(2))
    tag, text = re.search(r'(<text[^>]*class="a mark"[^>]*>)([^<]*)<', chart_svg).groups()
    x, w = attr(tag, "x"), 6.6 * len(text)
    start, end = (x, x + w) if 'text-anchor="start"' in tag else (x - w, x)
    assert left <= start and end <= right, (text, start, end, left, right)


def check_bar_names(bars_svg):
    """Every bar's name fits left of the bars (text-anchor end at x, inside the picture)."""
    for tag, text in re.findall(r'(<text[^>]*class="a name"[^>]*>)([^<]*)<', bars_svg):
        assert attr(tag, "x") - 6.6 * len(text) >= 0, (text, attr(tag, "x"))


def check_confusion(conf_svg, names):
    cols = re.findall(r'<text[^>]*class="a col"[^>]*transform="rotate\(-40[^>]*>([^<]*)<', conf_svg)
    assert cols == names, (cols, names)


def run(binary, args, cwd):
    r = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


def main():
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        run(binary, ["make-data", "--out", "d.h5", "--samples", "160", "--steps", "64"], tmp)
        open(f"{tmp}/c.yaml", "w").write(
            "experiment: {name: r, seed: 2}\n"
            "data: {path: d.h5, validation_split: 0.2, test_split: 0.2}\n"
            "model: {name: mlp, mlp: {hidden_units: [16]}, random_forest: {n_estimators: 20}}\n"
            "training: {epochs: 3, batch_size: 16, metrics: [accuracy, f1_macro, balanced_accuracy],\n"
            "           callbacks: {early_stopping: false}}\n"
            "cv: {n_splits: 3}\n"
            "tuning: {sampler: random, n_trials: 4, objective: val_f1_macro,\n"
            "         space: {training.learning_rate: {type: float, low: 0.001, high: 0.1, log: true},\n"
            "                 model.mlp.hidden_units: {type: categorical, choices: [[16], [32, 16]]}}}\n"
            "compare: {entries: {mlp: {model: mlp}, rf: {model: random_forest}, vote: {ensemble: [mlp, rf]}}}\n")
        run(binary, ["train", "c.yaml", "--set", "experiment.run_id=nn"], tmp)
        run(binary, ["train", "c.yaml", "--set", "experiment.run_id=rf", "--set", "model.name=random_forest"], tmp)
        # One epoch; and a learning rate whose ticks need many digits (0.00099999 .. 0.001).
        run(binary, ["train", "c.yaml", "--set", "experiment.run_id=one", "--set", "training.epochs=1"], tmp)
        run(binary, ["train", "c.yaml", "--set", "experiment.run_id=narrow", "--set", "training.learning_rate=0.001",
                     "--set", "training.lr_schedule=cosine", "--set", "training.lr_schedule_config.min_lr=0.00099999"],
            tmp)
        run(binary, ["cv", "c.yaml"], tmp)
        run(binary, ["tune", "c.yaml"], tmp)
        run(binary, ["compare", "c.yaml"], tmp)
        dirs = {"train": f"{tmp}/runs/r/nn", "classical": f"{tmp}/runs/r/rf", "one_epoch": f"{tmp}/runs/r/one",
                "narrow": f"{tmp}/runs/r/narrow",
                "cv": glob.glob(f"{tmp}/runs/r/cv-*")[0], "study": glob.glob(f"{tmp}/runs/r/study-*")[0],
                "compare": glob.glob(f"{tmp}/runs/r/compare-*")[0]}
        for kind, d in dirs.items():
            out = run(binary, ["report", d], tmp)
            assert "report.html" in out, out
            dom = render(f"{d}/report.html", tmp, kind)
            if kind == "train":
                assert svg(dom, "curve-loss").count("<polyline") == 2  # loss and val_loss
                assert svg(dom, "curve-f1_macro").count("<polyline") == 2
                assert svg(dom, "curve-lr").count("<polyline") == 1
                assert svg(dom, "confusion-test").count('class="cell"') == 16
                check_confusion(svg(dom, "confusion-test"), ["no_leak", "small_leak", "medium_leak", "large_leak"])
                for chart in ("curve-loss", "curve-balanced_accuracy", "curve-lr"):
                    check_layout(svg(dom, chart), whole_x=True)
                    assert svg(dom, chart).count('class="best"') == 1, chart  # the restored epoch
                    check_mark_inside(svg(dom, chart))
                # The learning rate is constant here: its axis holds it, and nothing at or below 0.
                assert min(y_ticks(svg(dom, "curve-lr"))) > 0, y_ticks(svg(dom, "curve-lr"))
                assert "best epoch" in svg(dom, "curve-loss")
                # A second report keeps the first one.
                before = os.stat(f"{d}/report.html").st_mtime_ns
                again = run(binary, ["report", d], tmp)
                assert "report-2.html" in again and "exists already and is kept" in again, again
                assert os.stat(f"{d}/report.html").st_mtime_ns == before and os.path.exists(f"{d}/report-2.html")
            elif kind == "one_epoch":
                assert svg(dom, "curve-loss").count('class="pt"') == 2  # loss and val_loss: one point each
                assert svg(dom, "curve-lr").count('class="pt"') == 1
                for chart in ("curve-loss", "curve-lr"):
                    check_layout(svg(dom, chart), whole_x=True)
            elif kind == "narrow":
                check_layout(svg(dom, "curve-lr"), whole_x=True)
                assert max(len(t) for t in re.findall(r'class="a yt"[^>]*>([^<]*)<', svg(dom, "curve-lr"))) >= 9
            elif kind == "classical":
                assert svg(dom, "confusion-test").count('class="cell"') == 16
            elif kind == "cv":
                assert svg(dom, "cv-summary").count('class="bar"') >= 3
                check_bar_names(svg(dom, "cv-summary"))
                assert svg(dom, "cv-folds").count('class="pt"') >= 9  # 3 folds x the scoring metrics
                assert svg(dom, "confusion-pooled").count('class="cell"') == 16
                check_layout(svg(dom, "cv-folds"), whole_x=True)
            elif kind == "study":
                assert svg(dom, "study-history").count('class="pt"') == 4
                check_layout(svg(dom, "study-history"), whole_x=True)
                check_bar_names(svg(dom, "study-importances"))  # model.mlp.hidden_units
                check_layout(svg(dom, "param-training.learning_rate"), whole_x=False)  # a log axis
                assert svg(dom, "param-training.learning_rate").count('class="pt"') == 4
                table = re.search(r'<table id="trials-table">(.*?)</table>', dom, re.S).group(1)
                rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
                assert len(rows) == 5, len(rows)  # header + 4 trials
                widths = {len(re.findall(r"<t[hd]>", r)) for r in rows}
                assert len(widths) == 1, widths  # a quoted list value such as [32, 16] stays one cell
            elif kind == "compare":
                assert svg(dom, "compare-ranking").count('class="bar"') == 3
                assert svg(dom, "compare-ranking").count('class="err"') == 3
                assert 'id="compare-pvalues"' in dom and 'id="verdict"' in dom
            print(f"{kind}: rendered, plots present, no console errors")


if __name__ == "__main__":
    main()
