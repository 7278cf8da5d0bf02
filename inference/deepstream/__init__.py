"""DeepStream itself (pyds + GStreamer): a bundle's configs run on files or RTSP streams.

    app        the Python app: one bundle, nvinfer or nvinferserver, metadata out
    pipeline   `taostream deepstream-app APP`: a `taostream pipeline` folder run by the app
"""
