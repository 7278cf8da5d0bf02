"""nvinfer, deepstream-app and nvinferserver configs, labels, Triton model repositories, the config
validator and `taostream bundle`."""
