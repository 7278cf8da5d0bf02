"""What a TAO spec says about deployment, and NVIDIA's published values where no spec is given.

    access               values out of a parsed spec by dotted path
    settings             input dims, preprocessing, clustering and thresholds a training spec fixes
    inference_spec       TAO inference specs (target classes, clustering) read like training specs
    published_defaults   per-model thresholds and clustering from NVIDIA's model cards and configs
"""
