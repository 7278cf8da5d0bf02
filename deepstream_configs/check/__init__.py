"""`taostream check`: every rule a config, a bundle or a pipeline folder is checked against.

    run                  ``check_configs``: the entry point; CheckReport, findings, file dispatch
    nvinfer              nvinfer [property] / [class-attrs-*] rules (versions, model files, TensorRT ops)
    nvinferserver        nvinferserver protobuf-text configs
    app                  deepstream-app configs and the GIE configs they reference
    bundle               a bundle folder against its manifest.json
    bundle_consistency   a bundle's nvinfer and nvinferserver paths agree with each other
    deploy               README.md, compose.yaml and k8s/ against the manifest
    pipeline             a `taostream pipeline` folder against pipeline.json and its bundles
"""
