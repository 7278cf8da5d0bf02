// Fuzz target over the exported parsers (and so the pure decoders behind them).
//
// The input bytes choose a parser, network size, thresholds and a set of output layers (names,
// data types, dims, claimed element counts) and fill the layer buffers, so NaN/inf, wild keep
// counts, out-of-range class ids, zero-sized and missing layers all occur. Each buffer is
// allocated with exactly the element count the layer claims, so AddressSanitizer flags any read
// past what nvinfer would hand the parser.
//
// Built with clang -fsanitize=fuzzer this is a libFuzzer target; with any other compiler the
// standalone driver below feeds it random inputs for -max_total_time seconds.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include <unistd.h>

#include "taostream/nvdsinfer_abi.h"

extern "C" {
bool NvDsInferParseCustomNMSTLT(std::vector<NvDsInferLayerInfo> const &, NvDsInferNetworkInfo const &,
                                NvDsInferParseDetectionParams const &,
                                std::vector<NvDsInferObjectDetectionInfo> &);
bool NvDsInferParseCustomBatchedNMSTLT(std::vector<NvDsInferLayerInfo> const &,
                                       NvDsInferNetworkInfo const &,
                                       NvDsInferParseDetectionParams const &,
                                       std::vector<NvDsInferObjectDetectionInfo> &);
bool NvDsInferParseCustomEfficientDetTAO(std::vector<NvDsInferLayerInfo> const &,
                                         NvDsInferNetworkInfo const &,
                                         NvDsInferParseDetectionParams const &,
                                         std::vector<NvDsInferObjectDetectionInfo> &);
bool NvDsInferParseCustomFrcnnTLT(std::vector<NvDsInferLayerInfo> const &, NvDsInferNetworkInfo const &,
                                  NvDsInferParseDetectionParams const &,
                                  std::vector<NvDsInferObjectDetectionInfo> &);
bool NvDsInferParseCustomDetectNetV2TAO(std::vector<NvDsInferLayerInfo> const &,
                                        NvDsInferNetworkInfo const &,
                                        NvDsInferParseDetectionParams const &,
                                        std::vector<NvDsInferObjectDetectionInfo> &);
bool NvDsInferParseCustomMrcnnTLTV2(std::vector<NvDsInferLayerInfo> const &, NvDsInferNetworkInfo const &,
                                    NvDsInferParseDetectionParams const &,
                                    std::vector<NvDsInferInstanceMaskInfo> &);
bool NvDsInferClassifierParseCustomTAO(std::vector<NvDsInferLayerInfo> const &,
                                       NvDsInferNetworkInfo const &, float,
                                       std::vector<NvDsInferAttribute> &, std::string &);
bool NvDsInferParseCustomNVPlate(std::vector<NvDsInferLayerInfo> const &, NvDsInferNetworkInfo const &, float,
                                 std::vector<NvDsInferAttribute> &, std::string &);
}

namespace {

class Reader {
 public:
  Reader(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | byte();
    return v;
  }
  // Remaining bytes, cycled, fill the layer buffers.
  void fill(uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = size_ ? data_[(fill_pos_++) % size_] : 0;
  }

 private:
  const uint8_t *data_;
  size_t size_, pos_ = 0, fill_pos_ = 0;
};

struct Shape {
  const char *name;
  std::vector<unsigned> dims;
};

// Plausible shapes for each parser; the sizes come from the input.
std::vector<Shape> template_for(int parser, Reader &r) {
  const unsigned k = r.byte() % 40, c = 1 + r.byte() % 6, g = 1 + r.byte() % 12;
  switch (parser) {
    case 0: return {{"NMS", {1, k, 7}}, {"NMS_1", {1, 1, 1}}};
    case 1: return {{"BatchedNMS", {1}}, {"BatchedNMS_1", {k, 4}}, {"BatchedNMS_2", {k}}, {"BatchedNMS_3", {k}}};
    case 2: return {{"num_detections", {1}}, {"detection_boxes", {k, 4}}, {"detection_scores", {k}}, {"detection_classes", {k}}};
    case 3: return {{"proposal", {k, 4}}, {"dense_class_td/Softmax", {k, c + 1, 1, 1}}, {"dense_regress_td/BiasAdd", {k, c * 4, 1, 1}}};
    case 4: return {{"output_cov/Sigmoid", {c, g, g + 3}}, {"output_bbox/BiasAdd", {4 * c, g, g + 3}}};
    case 5: return {{"generate_detections", {k, 6, 1, 1}}, {"mask_fcn_logits/BiasAdd", {k, c, 4, 4}}};
    case 7: return {{"tf_op_layer_ArgMax", {k}}, {"tf_op_layer_Max", {k}}};
    default: return {{"predictions/Softmax", {c, 1, 1}}};
  }
}

// A 35-character LPR dictionary for NvDsInferParseCustomNVPlate, written once per process.
const char *lpr_dictionary() {
  static const std::string path = [] {
    char name[] = "/tmp/taostream_fuzz_dict_XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) return std::string("/nonexistent/dict.txt");
    const char characters[] = "0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ";
    for (const char *c = characters; *c; ++c) {
      const char line[2] = {*c, '\n'};
      if (write(fd, line, 2) != 2) break;
    }
    close(fd);
    return std::string(name);
  }();
  return path.c_str();
}

const char *kDetectNetConfigs[] = {
    nullptr, "mode=dbscan", "mode=nms nms_iou=0.3", "mode=dbscan_nms eps=0.9 min_samples=0",
    "mode=none", "mode=dbscan eps=1.5", "mode=bogus", "eps=abc", "top_k=2 max_candidates=5"};

size_t element_size(int type) {
  static const size_t sizes[] = {4, 2, 1, 4, 8, 1};
  return type >= 0 && type < 6 ? sizes[type] : 4;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Reader r(data, size);
  const int parser = r.byte() % 8;
  const uint8_t flags = r.byte();
  NvDsInferNetworkInfo net{static_cast<unsigned>(r.byte()) * 8u, static_cast<unsigned>(r.byte()) * 4u, 3};
  NvDsInferParseDetectionParams params;
  params.numClassesConfigured = r.byte() % 10;
  const unsigned thresholds = r.byte() % 10;
  for (unsigned i = 0; i < thresholds; ++i) params.perClassPreclusterThreshold.push_back(r.byte() / 255.0f);
  std::vector<Shape> shapes = template_for(parser, r);
  if (flags & 1) shapes.pop_back();                           // missing layer
  if ((flags & 2) && !shapes.empty()) std::swap(shapes.front(), shapes.back());  // order
  const bool anonymous = flags & 4;                           // names unknown: by position

  std::vector<std::unique_ptr<uint8_t[]>> buffers;
  std::vector<std::string> names;
  std::vector<NvDsInferLayerInfo> layers;
  for (const Shape &shape : shapes) {
    NvDsInferLayerInfo l{};
    const uint8_t mode = r.byte();
    l.dataType = static_cast<NvDsInferDataType>((mode & 0x70) == 0x70 ? r.byte() % 8 : 0);
    l.inferDims.numDims = static_cast<unsigned>(shape.dims.size());
    unsigned product = 1;
    for (size_t i = 0; i < shape.dims.size() && i < 8; ++i) {
      l.inferDims.d[i] = (mode & 0x8) ? r.byte() % 9 : shape.dims[i];
      product *= l.inferDims.d[i];
    }
    if (mode & 0x80) l.inferDims.numDims = r.byte() % 12;  // may exceed NVDSINFER_MAX_DIMS
    l.inferDims.numElements = (mode & 0x4) ? r.byte() % 64 : product;
    const size_t bytes = static_cast<size_t>(l.inferDims.numElements) * element_size(l.dataType);
    if (bytes > (1u << 20)) return 0;
    buffers.emplace_back(bytes ? new uint8_t[bytes] : nullptr);
    r.fill(buffers.back().get(), bytes);
    l.buffer = (mode & 0x3) == 0x3 && bytes ? nullptr : buffers.back().get();
    names.push_back(anonymous ? "layer" + std::to_string(layers.size()) : shape.name);
    layers.push_back(l);
  }
  for (size_t i = 0; i < layers.size(); ++i) layers[i].layerName = names[i].c_str();

  std::vector<NvDsInferObjectDetectionInfo> objects;
  switch (parser) {
    case 0: NvDsInferParseCustomNMSTLT(layers, net, params, objects); break;
    case 1: NvDsInferParseCustomBatchedNMSTLT(layers, net, params, objects); break;
    case 2: NvDsInferParseCustomEfficientDetTAO(layers, net, params, objects); break;
    case 3: NvDsInferParseCustomFrcnnTLT(layers, net, params, objects); break;
    case 4: {
      const char *config = kDetectNetConfigs[(flags >> 4) % 9];
      if (config) setenv("TAOSTREAM_DETECTNET_V2", config, 1);
      else unsetenv("TAOSTREAM_DETECTNET_V2");
      NvDsInferParseCustomDetectNetV2TAO(layers, net, params, objects);
      break;
    }
    case 5: {
      std::vector<NvDsInferInstanceMaskInfo> masks;
      NvDsInferParseCustomMrcnnTLTV2(layers, net, params, masks);
      for (NvDsInferInstanceMaskInfo &m : masks) {
        volatile float touch = m.mask_size ? m.mask[m.mask_size / sizeof(float) - 1] : 0.0f;
        (void)touch;
        delete[] m.mask;
      }
      break;
    }
    case 7: {
      setenv("TAOSTREAM_LPR_DICT", lpr_dictionary(), 1);
      std::vector<NvDsInferAttribute> attributes;
      std::string description;
      NvDsInferParseCustomNVPlate(layers, net, 0.0f, attributes, description);
      for (NvDsInferAttribute &a : attributes) {
        if (a.attributeLabel == nullptr || std::strcmp(a.attributeLabel, description.c_str()) != 0) {
          std::fprintf(stderr, "LPR attribute label differs from the description\n");
          std::abort();
        }
        std::free(a.attributeLabel);  // what nvinfer does
      }
      break;
    }
    default: {
      std::vector<NvDsInferAttribute> attributes;
      std::string description;
      NvDsInferClassifierParseCustomTAO(layers, net, r.byte() / 255.0f, attributes, description);
    }
  }
  for (const NvDsInferObjectDetectionInfo &o : objects) {
    // A parser must never hand nvinfer a non-finite or inverted box.
    if (!(o.width > 0 && o.height > 0 && o.left >= 0 && o.top >= 0) ||
        o.left + o.width > net.width + 1e-3f || o.top + o.height > net.height + 1e-3f) {
      std::fprintf(stderr, "invalid box from parser %d\n", parser);
      std::abort();
    }
  }
  return 0;
}

#ifndef TAOSTREAM_LIBFUZZER
// Standalone driver for compilers without libFuzzer: random and mutated inputs for a bounded time.
#include <chrono>
#include <fstream>
#include <iterator>
#include <random>

int main(int argc, char **argv) {
  double max_seconds = 10.0;
  unsigned long seed = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("-max_total_time=", 0) == 0) max_seconds = std::atof(arg.c_str() + 16);
    else if (arg.rfind("-seed=", 0) == 0) seed = std::strtoul(arg.c_str() + 6, nullptr, 10);
    else files.push_back(arg);
  }
  for (const std::string &path : files) {  // replay mode
    std::ifstream in(path, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  if (!files.empty()) return 0;
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> input;
  const auto start = std::chrono::steady_clock::now();
  unsigned long runs = 0;
  for (;; ++runs) {
    if ((runs & 255) == 0) {
      const std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start;
      if (spent.count() >= max_seconds) break;
    }
    if (input.empty() || rng() % 4 == 0) {  // fresh input
      input.resize(rng() % 512);
      for (uint8_t &b : input) b = static_cast<uint8_t>(rng());
    } else {  // mutate: flip bytes, splice special floats
      const int edits = 1 + rng() % 8;
      for (int e = 0; e < edits && !input.empty(); ++e) {
        const size_t at = rng() % input.size();
        static const uint32_t specials[] = {0x7fc00000u, 0x7f800000u, 0xff800000u, 0x00000000u,
                                            0x3f800000u, 0xbf800000u, 0x4f000000u, 0x00000064u};
        if (rng() % 2 && at + 4 <= input.size()) {
          const uint32_t v = specials[rng() % 8];
          std::memcpy(&input[at], &v, 4);
        } else {
          input[at] = static_cast<uint8_t>(rng());
        }
      }
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::fprintf(stderr, "#%lu DONE (standalone driver, seed %lu)\n", runs, seed);
  return 0;
}
#endif
