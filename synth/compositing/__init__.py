"""Image compositing: object images pasted into backgrounds at a table's boxes, giving
labelled images (PNG, Parquet and COCO annotations) for detection models. Plain numpy and
Pillow; `synth.composite` runs it in this process, `synth composite` (jobs.composite) on Ray
Data."""
