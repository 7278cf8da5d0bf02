"""`taostream bundle`: one folder with everything to deploy a TAO model, and what reads it back.

    make             ``create_bundle``: decode, translate, modernize, INT8, configs, labels, Triton repository, README
    int8             a calibration cache as found in the wild, or calibration images
    labels_file      ``bundle --labels``: an NGC labels.txt, checked against the model
    jetson_library   the aarch64 parser library a Jetson bundle ships (cross-built per DeepStream layout)
    deploy           README.md, compose.yaml and k8s/ manifests: how the bundle is started per target
    manifest         ``load_manifest``: the one reader of manifest.json (check, infer, serve, verify)
"""
