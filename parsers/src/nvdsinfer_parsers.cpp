// Thin extern "C" adapters: DeepStream's NvDsInferLayerInfo -> TensorView -> pure decoder ->
// NvDsInferObjectDetectionInfo. Layers are found by name where the network names them, by
// position otherwise; any problem is printed (nvinfer shows it in the log) and the function
// returns false, which nvinfer reports as a parse failure instead of crashing the pipeline.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <exception>
#include <initializer_list>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "decoders.hpp"
#include "taostream/nvdsinfer_abi.h"

namespace {

using taostream::Detection;
using taostream::DetectionParams;
using taostream::TensorView;

struct Role {
  const char *what;                        // for messages
  std::initializer_list<const char *> names;  // accepted layer names (":0" suffix ignored)
  bool optional;
};

std::string base_name(const char *name) {
  std::string s = name ? name : "";
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ":0") == 0) s.resize(s.size() - 2);
  return s;
}

size_t element_size(int data_type) {
  switch (data_type) {
    case 0: return 4;  // FLOAT
    case 1: return 2;  // HALF
    case 2: return 1;  // INT8
    case 3: return 4;  // INT32
    case 4: return 8;  // INT64
    case 5: return 1;  // UINT8
    default: return 0;
  }
}

bool to_view(const NvDsInferLayerInfo &layer, TensorView *view, std::string *error) {
  const std::string name = layer.layerName ? layer.layerName : "(unnamed)";
  const NvDsInferDims &dims = layer.inferDims;
  // Read the enum's bytes as an int: a DeepStream newer than these headers may send a value the
  // enum does not list, and loading that through the enum type is undefined behaviour.
  int data_type = 0;
  static_assert(sizeof(layer.dataType) == sizeof(data_type), "NvDsInferDataType is an int-sized enum");
  std::memcpy(&data_type, &layer.dataType, sizeof data_type);
  if (element_size(data_type) == 0) {
    *error = "output layer '" + name + "' has unknown data type " + std::to_string(data_type);
    return false;
  }
  if (dims.numDims > NVDSINFER_MAX_DIMS) {
    *error = "output layer '" + name + "' claims " + std::to_string(dims.numDims) + " dims (max 8)";
    return false;
  }
  size_t product = 1;
  view->dims.clear();
  for (unsigned i = 0; i < dims.numDims; ++i) {
    view->dims.push_back(dims.d[i]);
    if (__builtin_mul_overflow(product, static_cast<size_t>(dims.d[i]), &product)) product = SIZE_MAX;
  }
  if (product != dims.numElements) {
    std::ostringstream s;
    s << "output layer '" << name << "': dims product " << product << " != numElements "
      << dims.numElements;
    *error = s.str();
    return false;
  }
  if (layer.buffer == nullptr && dims.numElements > 0) {
    *error = "output layer '" + name + "' has no buffer";
    return false;
  }
  view->data = layer.buffer;
  view->type = static_cast<taostream::ElementType>(data_type);
  view->count = dims.numElements;
  view->name = name;
  return true;
}

std::string layer_list(const std::vector<const NvDsInferLayerInfo *> &outputs) {
  std::string s;
  for (const NvDsInferLayerInfo *l : outputs) s += (s.empty() ? "" : ", ") + base_name(l->layerName);
  return s.empty() ? "(none)" : s;
}

// By name first; when no role matches any name, by position among the output layers.
bool resolve(const std::vector<NvDsInferLayerInfo> &layers, std::initializer_list<Role> roles,
             std::vector<TensorView> *views, std::vector<bool> *present, std::string *error) {
  std::vector<const NvDsInferLayerInfo *> outputs;
  for (const NvDsInferLayerInfo &l : layers)
    if (!l.isInput) outputs.push_back(&l);
  std::vector<const NvDsInferLayerInfo *> found;
  bool any_by_name = false;
  for (const Role &role : roles) {
    const NvDsInferLayerInfo *hit = nullptr;
    for (const NvDsInferLayerInfo *l : outputs)
      for (const char *n : role.names)
        if (!hit && base_name(l->layerName) == n) hit = l;
    any_by_name = any_by_name || hit != nullptr;
    found.push_back(hit);
  }
  size_t k = 0;
  for (const Role &role : roles) {
    if (!any_by_name && k < outputs.size()) found[k] = outputs[k];
    if (found[k] == nullptr && !role.optional) {
      *error = std::string("output layer '") + *role.names.begin() + "' (" + role.what +
               ") not found; the engine's outputs are: " + layer_list(outputs) +
               ". Check output-blob-names and that this parser matches the network.";
      return false;
    }
    ++k;
  }
  views->assign(found.size(), TensorView{});
  present->assign(found.size(), false);
  for (size_t i = 0; i < found.size(); ++i) {
    if (found[i] == nullptr) continue;
    if (!to_view(*found[i], &(*views)[i], error)) return false;
    (*present)[i] = true;
  }
  return true;
}

DetectionParams to_params(const NvDsInferParseDetectionParams &p) {
  DetectionParams params;
  params.num_classes = p.numClassesConfigured;
  params.pre_cluster_threshold = p.perClassPreclusterThreshold;
  return params;
}

bool report(const char *function, const std::string &error) {
#ifndef TAOSTREAM_PARSER_QUIET  // the fuzz build would print millions of these
  std::cerr << "ERROR: taostream " << function << ": " << error << std::endl;
#else
  (void)function;
  (void)error;
#endif
  return false;
}

void emit(const std::vector<Detection> &boxes, std::vector<NvDsInferObjectDetectionInfo> &objects) {
  for (const Detection &d : boxes) {
    NvDsInferObjectDetectionInfo o{};  // zero-initialises DeepStream 9's rotation_angle
    o.classId = static_cast<unsigned>(d.class_id);
    o.left = d.left;
    o.top = d.top;
    o.width = d.right - d.left;
    o.height = d.bottom - d.top;
    o.detectionConfidence = d.confidence;
    objects.push_back(o);
  }
}

template <typename Body>
bool guarded(const char *function, Body body) {
  try {
    std::string error;
    if (!body(&error)) return report(function, error);
    return true;
  } catch (const std::exception &e) {
    return report(function, std::string("internal error: ") + e.what());
  } catch (...) {
    return report(function, "internal error");
  }
}

bool parse_nms7(const char *function, std::vector<NvDsInferLayerInfo> const &layers,
                NvDsInferNetworkInfo const &net, NvDsInferParseDetectionParams const &p,
                std::vector<NvDsInferObjectDetectionInfo> &objects) {
  return guarded(function, [&](std::string *error) {
    std::vector<TensorView> v;
    std::vector<bool> has;
    if (!resolve(layers,
                 {{"detections [K,7]", {"NMS", "nms_out"}, false},
                  {"keep count", {"NMS_1", "nms_out_1"}, true}},
                 &v, &has, error))
      return false;
    std::vector<Detection> boxes;
    if (!taostream::decode_nms7(v[0], has[1] ? &v[1] : nullptr, net.width, net.height,
                                to_params(p), &boxes, error))
      return false;
    emit(boxes, objects);
    return true;
  });
}

bool parse_four_output(const char *function, bool efficient,
                       std::vector<NvDsInferLayerInfo> const &layers,
                       NvDsInferNetworkInfo const &net, NvDsInferParseDetectionParams const &p,
                       std::vector<NvDsInferObjectDetectionInfo> &objects) {
  return guarded(function, [&](std::string *error) {
    std::vector<TensorView> v;
    std::vector<bool> has;
    const bool ok =
        efficient ? resolve(layers,
                            {{"number of detections", {"num_detections"}, false},
                             {"boxes", {"detection_boxes"}, false},
                             {"scores", {"detection_scores"}, false},
                             {"classes", {"detection_classes"}, false}},
                            &v, &has, error)
                  : resolve(layers,
                            {{"number of detections", {"BatchedNMS"}, false},
                             {"boxes", {"BatchedNMS_1"}, false},
                             {"scores", {"BatchedNMS_2"}, false},
                             {"classes", {"BatchedNMS_3"}, false}},
                            &v, &has, error);
    if (!ok) return false;
    std::vector<Detection> boxes;
    const DetectionParams params = to_params(p);
    if (!(efficient ? taostream::decode_efficient_nms(v[0], v[1], v[2], v[3], net.width,
                                                      net.height, params, &boxes, error)
                    : taostream::decode_batched_nms(v[0], v[1], v[2], v[3], net.width,
                                                    net.height, params, &boxes, error)))
      return false;
    emit(boxes, objects);
    return true;
  });
}

bool has_layer(std::vector<NvDsInferLayerInfo> const &layers, const char *name) {
  for (const NvDsInferLayerInfo &l : layers)
    if (!l.isInput && base_name(l.layerName) == name) return true;
  return false;
}

bool parse_mask_rcnn(const char *function, bool v2, std::vector<NvDsInferLayerInfo> const &layers,
                     NvDsInferNetworkInfo const &net, NvDsInferParseDetectionParams const &p,
                     std::vector<NvDsInferInstanceMaskInfo> &objects) {
  return guarded(function, [&](std::string *error) {
    std::vector<TensorView> v;
    std::vector<bool> has;
    const bool ok =
        v2 ? resolve(layers,
                     {{"detections [N,6]", {"generate_detections"}, false},
                      {"mask logits [N,C,H,W]",
                       {"mask_fcn_logits/BiasAdd", "mask_head/mask_fcn_logits/BiasAdd"}, false}},
                     &v, &has, error)
           : resolve(layers,
                     {{"detections [N,6]", {"generate_detections"}, false},
                      {"mask logits [N,C,H,W]",
                       {"mask_head/mask_fcn_logits/BiasAdd", "mask_fcn_logits/BiasAdd"}, false}},
                     &v, &has, error);
    if (!ok) return false;
    std::vector<taostream::MaskedDetection> found;
    if (!taostream::decode_mask_rcnn(v[0], v[1], net.width, net.height, to_params(p), &found, error))
      return false;
    for (const taostream::MaskedDetection &m : found) {
      NvDsInferInstanceMaskInfo o{};
      o.classId = static_cast<unsigned>(m.box.class_id);
      o.left = m.box.left;
      o.top = m.box.top;
      o.width = m.box.right - m.box.left;
      o.height = m.box.bottom - m.box.top;
      o.detectionConfidence = m.box.confidence;
      o.mask = new float[m.mask.size()];  // DeepStream releases it with delete[]
      std::memcpy(o.mask, m.mask.data(), m.mask.size() * sizeof(float));
      o.mask_width = m.mask_width;
      o.mask_height = m.mask_height;
      o.mask_size = static_cast<unsigned>(m.mask.size() * sizeof(float));
      objects.push_back(o);
    }
    return true;
  });
}

// The NvDsInferObjectDetectionInfo layout this library was compiled for, as a string in the file:
// `taostream check` reads it from the bytes (any architecture, nothing loaded) and compares it with
// the DeepStream a config targets. DeepStream 9 appended rotation_angle (24 -> 28 bytes); nvinfer
// walks the detection vector with its own stride, so a mismatch turns every box into garbage.
template <std::size_t Bytes>
struct AbiTag;
template <>
struct AbiTag<24> {
  static constexpr char text[] = "TAOSTREAM_PARSER_ABI object_info_bytes=24 (DeepStream 5-8)";
};
template <>
struct AbiTag<28> {
  static constexpr char text[] = "TAOSTREAM_PARSER_ABI object_info_bytes=28 (DeepStream 9+, rotation_angle)";
};

// LPRNet's dictionary: line k is character id k (dataset_config.characters_list_file, NVIDIA's
// dict.txt); a lone ';'-joined line (nvinfer's classifier labels form) is split. Read once per path
// (NVIDIA's parser reads it once) and kept for the process; a missing or empty file is an error.
bool lpr_dictionary(const std::string &path, const std::vector<std::string> **out, std::string *error) {
  static std::mutex mutex;
  static std::map<std::string, std::vector<std::string>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = cache.find(path);
  if (found == cache.end()) {
    std::ifstream file(path);
    if (!file.is_open()) {
      *error = "cannot open the LPR dictionary '" + path + "' (one character per line, the spec's "
               "characters_list_file): set TAOSTREAM_LPR_DICT to its path or put dict.txt in the working directory";
      return false;
    }
    std::vector<std::string> characters;
    std::string line;
    while (std::getline(file, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      characters.push_back(line);
    }
    while (!characters.empty() && characters.back().empty()) characters.pop_back();
    if (characters.size() == 1 && characters[0].size() > 1 && characters[0].find(';') != std::string::npos) {
      std::vector<std::string> split;
      std::stringstream parts(characters[0]);
      std::string part;
      while (std::getline(parts, part, ';')) split.push_back(part);
      characters = split;
    }
    if (characters.empty()) {
      *error = "the LPR dictionary '" + path + "' is empty; it needs one character per line";
      return false;
    }
    found = cache.emplace(path, std::move(characters)).first;
  }
  *out = &found->second;
  return true;
}

const NvDsInferLayerInfo *lpr_layer(std::vector<NvDsInferLayerInfo> const &layers, const char *name, bool integer) {
  for (const NvDsInferLayerInfo &l : layers)
    if (!l.isInput && base_name(l.layerName) == name) return &l;
  // NVIDIA's parser tells the two outputs apart by data type (INT32 ids, FLOAT confidences).
  for (const NvDsInferLayerInfo &l : layers) {
    if (l.isInput) continue;
    int data_type = 0;
    std::memcpy(&data_type, &l.dataType, sizeof data_type);
    const bool is_integer = data_type == 2 || data_type == 3 || data_type == 4 || data_type == 5;
    if (is_integer == integer) return &l;
  }
  return nullptr;
}

// The settings $TAOSTREAM_DETECTNET_V2 holds, parsed once per thread while the text stays the same
// (parsing it with streams cost 45k instructions, 3% of a busy frame); nullptr with *error set
// when the text is malformed.
const taostream::DetectNetV2Config *detectnet_v2_config(std::string *error) {
  struct Parsed {
    bool valid = false, has_text = false, ok = false;
    std::string text, error;
    taostream::DetectNetV2Config config;
  };
  thread_local Parsed parsed;
  const char *text = std::getenv("TAOSTREAM_DETECTNET_V2");
  if (!parsed.valid || parsed.has_text != (text != nullptr) || (text != nullptr && parsed.text != text)) {
    parsed.valid = false;
    parsed.has_text = text != nullptr;
    parsed.text = text != nullptr ? text : "";
    parsed.config = taostream::DetectNetV2Config{};
    parsed.error.clear();
    parsed.ok = taostream::parse_detectnet_v2_config(text, &parsed.config, &parsed.error);
    parsed.valid = true;
  }
  if (!parsed.ok) {
    *error = parsed.error;
    return nullptr;
  }
  return &parsed.config;
}

}  // namespace

extern "C" __attribute__((used)) const char *const taostream_parser_abi =
    AbiTag<sizeof(NvDsInferObjectDetectionInfo)>::text;

// The library is built with -fvisibility=hidden; only these entry points are exported.
#pragma GCC visibility push(default)
extern "C" {

bool NvDsInferParseCustomNMSTLT(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                NvDsInferNetworkInfo const &networkInfo,
                                NvDsInferParseDetectionParams const &detectionParams,
                                std::vector<NvDsInferObjectDetectionInfo> &objectList) {
  return parse_nms7("NvDsInferParseCustomNMSTLT", outputLayersInfo, networkInfo, detectionParams,
                    objectList);
}

// TLT 2.0 name of the same parser (SSD, DSSD, RetinaNet configs of that era).
bool NvDsInferParseCustomSSDTLT(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                NvDsInferNetworkInfo const &networkInfo,
                                NvDsInferParseDetectionParams const &detectionParams,
                                std::vector<NvDsInferObjectDetectionInfo> &objectList) {
  return parse_nms7("NvDsInferParseCustomSSDTLT", outputLayersInfo, networkInfo, detectionParams,
                    objectList);
}

bool NvDsInferParseCustomBatchedNMSTLT(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                       NvDsInferNetworkInfo const &networkInfo,
                                       NvDsInferParseDetectionParams const &detectionParams,
                                       std::vector<NvDsInferObjectDetectionInfo> &objectList) {
  return parse_four_output("NvDsInferParseCustomBatchedNMSTLT", false, outputLayersInfo,
                           networkInfo, detectionParams, objectList);
}

// TLT 2.0 name of the YOLOv3 parser.
bool NvDsInferParseCustomYOLOV3TLT(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                   NvDsInferNetworkInfo const &networkInfo,
                                   NvDsInferParseDetectionParams const &detectionParams,
                                   std::vector<NvDsInferObjectDetectionInfo> &objectList) {
  return parse_four_output("NvDsInferParseCustomYOLOV3TLT", false, outputLayersInfo, networkInfo,
                           detectionParams, objectList);
}

bool NvDsInferParseCustomEfficientDetTAO(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                         NvDsInferNetworkInfo const &networkInfo,
                                         NvDsInferParseDetectionParams const &detectionParams,
                                         std::vector<NvDsInferObjectDetectionInfo> &objectList) {
  return parse_four_output("NvDsInferParseCustomEfficientDetTAO", true, outputLayersInfo,
                           networkInfo, detectionParams, objectList);
}

// TLT 2.0 FasterRCNN (proposal + class softmax + deltas). A config that still names this parser
// for a TLT 3+ model (single NMS output) is served by the NMS decoder.
bool NvDsInferParseCustomFrcnnTLT(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                  NvDsInferNetworkInfo const &networkInfo,
                                  NvDsInferParseDetectionParams const &detectionParams,
                                  std::vector<NvDsInferObjectDetectionInfo> &objectList) {
  const char *function = "NvDsInferParseCustomFrcnnTLT";
  if (!has_layer(outputLayersInfo, "proposal") &&
      (has_layer(outputLayersInfo, "NMS") || has_layer(outputLayersInfo, "nms_out")))
    return parse_nms7(function, outputLayersInfo, networkInfo, detectionParams, objectList);
  return guarded(function, [&](std::string *error) {
    std::vector<TensorView> v;
    std::vector<bool> has;
    if (!resolve(outputLayersInfo,
                 {{"proposals [R,4]", {"proposal"}, false},
                  {"class softmax [R,C]", {"dense_class_td/Softmax"}, false},
                  {"box deltas [R,4(C-1)]", {"dense_regress_td/BiasAdd"}, false}},
                 &v, &has, error))
      return false;
    std::vector<Detection> boxes;
    if (!taostream::decode_frcnn_tlt2(v[0], v[1], v[2], networkInfo.width, networkInfo.height,
                                      to_params(detectionParams), taostream::FrcnnConfig{}, &boxes,
                                      error))
      return false;
    emit(boxes, objectList);
    return true;
  });
}

bool NvDsInferParseCustomMrcnnTLT(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                  NvDsInferNetworkInfo const &networkInfo,
                                  NvDsInferParseDetectionParams const &detectionParams,
                                  std::vector<NvDsInferInstanceMaskInfo> &objectList) {
  return parse_mask_rcnn("NvDsInferParseCustomMrcnnTLT", false, outputLayersInfo, networkInfo,
                         detectionParams, objectList);
}

bool NvDsInferParseCustomMrcnnTLTV2(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                    NvDsInferNetworkInfo const &networkInfo,
                                    NvDsInferParseDetectionParams const &detectionParams,
                                    std::vector<NvDsInferInstanceMaskInfo> &objectList) {
  return parse_mask_rcnn("NvDsInferParseCustomMrcnnTLTV2", true, outputLayersInfo, networkInfo,
                         detectionParams, objectList);
}

// DetectNet_v2 grid decode + TAO clustering. nvinfer cannot pass clustering parameters to a
// parser, so they come from $TAOSTREAM_DETECTNET_V2 ("mode=dbscan eps=0.3 min_samples=0.05
// confidence=0.1 min_height=4 nms_iou=0.5 top_k=0 bbox_norm=35 offset=0.5"). The parser already
// clusters: pair it with cluster-mode=4 unless mode=none.
bool NvDsInferParseCustomDetectNetV2TAO(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                        NvDsInferNetworkInfo const &networkInfo,
                                        NvDsInferParseDetectionParams const &detectionParams,
                                        std::vector<NvDsInferObjectDetectionInfo> &objectList) {
  return guarded("NvDsInferParseCustomDetectNetV2TAO", [&](std::string *error) {
    const taostream::DetectNetV2Config *config = detectnet_v2_config(error);
    if (config == nullptr) return false;
    std::vector<TensorView> v;
    std::vector<bool> has;
    if (!resolve(outputLayersInfo,
                 {{"coverage [C,H,W]", {"output_cov/Sigmoid"}, false},
                  {"bbox [4C,H,W]", {"output_bbox/BiasAdd"}, false}},
                 &v, &has, error))
      return false;
    std::vector<Detection> boxes;
    if (!taostream::decode_detectnet_v2(v[0], v[1], networkInfo.width, networkInfo.height,
                                        to_params(detectionParams), *config, &boxes, error))
      return false;
    emit(boxes, objectList);
    return true;
  });
}

// Softmax classifier: one attribute per output layer (multitask classification has several).
// It cannot name the classes (a parser never sees labelfile-path), and nvinfer attaches no classifier
// meta for attributes without a label, so taostream's configs use nvinfer's built-in softmax parser
// instead (docs/deepstream.md, "Classifier names in DeepStream"); this symbol stays for old configs.
bool NvDsInferClassifierParseCustomTAO(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                       NvDsInferNetworkInfo const &networkInfo,
                                       float classifierThreshold,
                                       std::vector<NvDsInferAttribute> &attrList,
                                       std::string &descString) {
  (void)networkInfo;
  (void)descString;
  return guarded("NvDsInferClassifierParseCustomTAO", [&](std::string *error) {
    unsigned index = 0;
    bool any_output = false;
    for (const NvDsInferLayerInfo &layer : outputLayersInfo) {
      if (layer.isInput) continue;
      any_output = true;
      TensorView view;
      taostream::ClassifierResult result;
      if (!to_view(layer, &view, error) ||
          !taostream::classify_softmax(view, classifierThreshold, &result, error))
        return false;
      if (result.found) {
        NvDsInferAttribute attr{};
        attr.attributeIndex = index;
        attr.attributeValue = result.class_id;
        attr.attributeConfidence = result.confidence;
        attr.attributeLabel = nullptr;
        attrList.push_back(attr);
      }
      ++index;
    }
    if (!any_output) *error = "no output layers";
    return any_output;
  });
}

// LPRNet under NVIDIA's name (deepstream_lpr_app, parse-classifier-func-name=NvDsInferParseCustomNVPlate):
// tf_op_layer_ArgMax / tf_op_layer_Max decoded the TAO way (decode_ctc_greedy). Like NVIDIA's: the
// description string is the plate; one attribute (index 0, value 1, confidence = product of the
// character confidences, attributeLabel = strdup(plate), released by nvinfer with free()) when at
// least 3 characters were read; classifierThreshold is not used. Unlike NVIDIA's: the sequence length
// is the tensors' length (not network width / 4), ids outside the dictionary fail the call instead of
// reading past it, and the dictionary path is $TAOSTREAM_LPR_DICT when set (else dict.txt, as NVIDIA's).
bool NvDsInferParseCustomNVPlate(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                 NvDsInferNetworkInfo const &networkInfo, float classifierThreshold,
                                 std::vector<NvDsInferAttribute> &attrList, std::string &descString) {
  (void)networkInfo;
  (void)classifierThreshold;
  return guarded("NvDsInferParseCustomNVPlate", [&](std::string *error) {
    const char *configured = std::getenv("TAOSTREAM_LPR_DICT");
    const std::vector<std::string> *characters = nullptr;
    if (!lpr_dictionary(configured && *configured ? configured : "dict.txt", &characters, error)) return false;
    const NvDsInferLayerInfo *ids_layer = lpr_layer(outputLayersInfo, "tf_op_layer_ArgMax", true);
    const NvDsInferLayerInfo *conf_layer = lpr_layer(outputLayersInfo, "tf_op_layer_Max", false);
    if (ids_layer == nullptr || conf_layer == nullptr || ids_layer == conf_layer) {
      std::vector<const NvDsInferLayerInfo *> outputs;
      for (const NvDsInferLayerInfo &l : outputLayersInfo)
        if (!l.isInput) outputs.push_back(&l);
      *error = "LPRNet needs tf_op_layer_ArgMax (INT32 ids) and tf_op_layer_Max (FLOAT confidences); the engine's "
               "outputs are: " + layer_list(outputs) + ". Check output-blob-names.";
      return false;
    }
    TensorView ids, confidences;
    if (!to_view(*ids_layer, &ids, error) || !to_view(*conf_layer, &confidences, error)) return false;
    taostream::PlateResult plate;
    if (!taostream::decode_ctc_greedy(ids, confidences, static_cast<long>(characters->size()), &plate, error))
      return false;
    std::string text;
    float confidence = 1.0f;
    for (size_t i = 0; i < plate.character_ids.size(); ++i) {
      text += (*characters)[static_cast<size_t>(plate.character_ids[i])];
      confidence = static_cast<float>(confidence * static_cast<double>(plate.confidences[i]));
    }
    descString = text;
    if (plate.character_ids.size() >= 3) {
      NvDsInferAttribute attr{};
      attr.attributeIndex = 0;
      attr.attributeValue = 1;
      attr.attributeConfidence = confidence;
      attr.attributeLabel = strdup(text.c_str());
      if (attr.attributeLabel == nullptr) {
        *error = "out of memory";
        return false;
      }
      attrList.push_back(attr);
    }
    return true;
  });
}

}  // extern "C"
#pragma GCC visibility pop

// The exported symbols must have exactly the types nvinfer casts them to.
#define TAOSTREAM_CHECK_SIGNATURE(function, type) \
  static_assert(std::is_same<decltype(&function), type>::value, #function " has the wrong signature")
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomNMSTLT, NvDsInferParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomSSDTLT, NvDsInferParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomBatchedNMSTLT, NvDsInferParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomYOLOV3TLT, NvDsInferParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomEfficientDetTAO, NvDsInferParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomFrcnnTLT, NvDsInferParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomDetectNetV2TAO, NvDsInferParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomMrcnnTLT, NvDsInferInstanceMaskParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomMrcnnTLTV2, NvDsInferInstanceMaskParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferClassifierParseCustomTAO, NvDsInferClassiferParseCustomFunc);
TAOSTREAM_CHECK_SIGNATURE(NvDsInferParseCustomNVPlate, NvDsInferClassiferParseCustomFunc);
