"""DeepStream bbox parsers: the C++ library (built by CMake) and the numpy reference
post-processors that define the same maths and serve as the test oracle."""
