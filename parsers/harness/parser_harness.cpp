// C-callable test harness: builds the std::vector arguments nvinfer would build, dlopens the
// parser library and calls the REAL exported symbol, then flattens the results into plain
// structs so Python (ctypes) can compare them with parsers/reference.py.
#include <dlfcn.h>

#include <ctime>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "taostream/nvdsinfer_abi.h"

extern "C" {

struct HarnessLayer {
  int data_type;
  unsigned num_dims;
  unsigned dims[8];
  unsigned num_elements;
  const char *name;
  const void *buffer;
  int is_input;
};

struct HarnessObject {
  unsigned class_id;
  float left, top, width, height, confidence;
  unsigned mask_width, mask_height, mask_size;
};

}  // extern "C"

namespace {

constexpr int kLoadFailed = -2;
constexpr int kParseFailed = -1;

void *symbol_of(const char *library, const char *symbol) {
  static std::mutex mutex;
  static std::map<std::string, void *> handles;
  std::lock_guard<std::mutex> lock(mutex);
  void *&handle = handles[library];
  if (handle == nullptr) handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  return handle ? dlsym(handle, symbol) : nullptr;
}

std::vector<NvDsInferLayerInfo> to_layers(const HarnessLayer *layers, int count) {
  std::vector<NvDsInferLayerInfo> out;
  for (int i = 0; i < count; ++i) {
    NvDsInferLayerInfo l{};
    std::memcpy(&l.dataType, &layers[i].data_type, sizeof l.dataType);  // any int, listed or not
    l.inferDims.numDims = layers[i].num_dims;
    for (int k = 0; k < 8; ++k) l.inferDims.d[k] = layers[i].dims[k];
    l.inferDims.numElements = layers[i].num_elements;
    l.bindingIndex = i;
    l.layerName = layers[i].name;
    l.buffer = const_cast<void *>(layers[i].buffer);
    l.isInput = layers[i].is_input;
    out.push_back(l);
  }
  return out;
}

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

NvDsInferParseDetectionParams to_params(unsigned num_classes, const float *thresholds, int count) {
  NvDsInferParseDetectionParams p;
  p.numClassesConfigured = num_classes;
  p.perClassPreclusterThreshold.assign(thresholds, thresholds + (count > 0 ? count : 0));
  p.perClassPostclusterThreshold.assign(p.perClassPreclusterThreshold.size(), 0.0f);
  return p;
}

}  // namespace

extern "C" {

// kind 0: NvDsInferParseCustomFunc, kind 1: NvDsInferInstanceMaskParseCustomFunc.
// Returns the number of objects (copies at most `capacity`; masks concatenated into `masks` up to
// `mask_capacity` floats), -1 when the parser returned false, -2 when the symbol did not load.
int taostream_harness_parse(const char *library, const char *symbol, int kind,
                            const HarnessLayer *layers, int layer_count, unsigned net_w,
                            unsigned net_h, unsigned net_c, unsigned num_classes,
                            const float *thresholds, int threshold_count, HarnessObject *out,
                            int capacity, float *masks, long mask_capacity) {
  void *fn = symbol_of(library, symbol);
  if (fn == nullptr) return kLoadFailed;
  const std::vector<NvDsInferLayerInfo> info = to_layers(layers, layer_count);
  const NvDsInferNetworkInfo net{net_w, net_h, net_c};
  const NvDsInferParseDetectionParams params = to_params(num_classes, thresholds, threshold_count);
  if (kind == 0) {
    std::vector<NvDsInferObjectDetectionInfo> objects;
    if (!reinterpret_cast<NvDsInferParseCustomFunc>(fn)(info, net, params, objects))
      return kParseFailed;
    for (size_t i = 0; i < objects.size() && static_cast<int>(i) < capacity; ++i) {
      const NvDsInferObjectDetectionInfo &o = objects[i];
      out[i] = HarnessObject{o.classId, o.left, o.top, o.width, o.height, o.detectionConfidence, 0, 0, 0};
    }
    return static_cast<int>(objects.size());
  }
  std::vector<NvDsInferInstanceMaskInfo> objects;
  if (!reinterpret_cast<NvDsInferInstanceMaskParseCustomFunc>(fn)(info, net, params, objects))
    return kParseFailed;
  long used = 0;
  for (size_t i = 0; i < objects.size(); ++i) {
    NvDsInferInstanceMaskInfo &o = objects[i];
    const long floats = static_cast<long>(o.mask_size / sizeof(float));
    if (static_cast<int>(i) < capacity) {
      out[i] = HarnessObject{o.classId, o.left, o.top, o.width, o.height, o.detectionConfidence,
                             o.mask_width, o.mask_height, o.mask_size};
      if (masks != nullptr && used + floats <= mask_capacity)
        std::memcpy(masks + used, o.mask, static_cast<size_t>(floats) * sizeof(float));
    }
    used += floats;
    delete[] o.mask;  // what nvinfer does with it
  }
  return static_cast<int>(objects.size());
}

// NvDsInferClassiferParseCustomFunc. Writes (attributeIndex, attributeValue, confidence) triples.
int taostream_harness_classify(const char *library, const char *symbol, const HarnessLayer *layers,
                               int layer_count, unsigned net_w, unsigned net_h, unsigned net_c,
                               float threshold, unsigned *indices, unsigned *values,
                               float *confidences, int capacity) {
  void *fn = symbol_of(library, symbol);
  if (fn == nullptr) return kLoadFailed;
  const std::vector<NvDsInferLayerInfo> info = to_layers(layers, layer_count);
  const NvDsInferNetworkInfo net{net_w, net_h, net_c};
  std::vector<NvDsInferAttribute> attributes;
  std::string description;
  if (!reinterpret_cast<NvDsInferClassiferParseCustomFunc>(fn)(info, net, threshold, attributes,
                                                               description))
    return kParseFailed;
  for (size_t i = 0; i < attributes.size() && static_cast<int>(i) < capacity; ++i) {
    indices[i] = attributes[i].attributeIndex;
    values[i] = attributes[i].attributeValue;
    confidences[i] = attributes[i].attributeConfidence;
  }
  return static_cast<int>(attributes.size());
}

// NvDsInferClassiferParseCustomFunc with what nvinfer keeps of the result besides the numbers: each
// attribute's attributeLabel (NUL-terminated into `labels`, `label_offsets[i]` = its start or -1 for
// none; released with free() as nvinfer does) and the description string (into `description`).
// Returns the attribute count, -1 / -2 as above, -3 when a buffer is too small.
int taostream_harness_classify_text(const char *library, const char *symbol, const HarnessLayer *layers,
                                    int layer_count, unsigned net_w, unsigned net_h, unsigned net_c,
                                    float threshold, unsigned *indices, unsigned *values, float *confidences,
                                    long *label_offsets, int capacity, char *labels, long labels_capacity,
                                    char *description, long description_capacity) {
  void *fn = symbol_of(library, symbol);
  if (fn == nullptr) return kLoadFailed;
  const std::vector<NvDsInferLayerInfo> info = to_layers(layers, layer_count);
  const NvDsInferNetworkInfo net{net_w, net_h, net_c};
  std::vector<NvDsInferAttribute> attributes;
  std::string text;
  const bool ok = reinterpret_cast<NvDsInferClassiferParseCustomFunc>(fn)(info, net, threshold, attributes, text);
  int status = ok ? static_cast<int>(attributes.size()) : kParseFailed;
  long used = 0;
  for (size_t i = 0; i < attributes.size(); ++i) {
    const char *label = attributes[i].attributeLabel;
    if (static_cast<int>(i) < capacity) {
      indices[i] = attributes[i].attributeIndex;
      values[i] = attributes[i].attributeValue;
      confidences[i] = attributes[i].attributeConfidence;
      label_offsets[i] = -1;
      if (label != nullptr) {
        const long size = static_cast<long>(std::strlen(label)) + 1;
        if (used + size > labels_capacity) {
          status = -3;
        } else {
          std::memcpy(labels + used, label, static_cast<size_t>(size));
          label_offsets[i] = used;
          used += size;
        }
      }
    }
    std::free(attributes[i].attributeLabel);  // nvinfer's releaseFrameOutput
  }
  if (ok) {
    if (static_cast<long>(text.size()) + 1 > description_capacity) return -3;
    std::memcpy(description, text.c_str(), text.size() + 1);
  }
  return status;
}

// Mean CPU seconds (this thread) per call of a detection parser over `iterations` calls, no
// ctypes in the loop. CPU time, not wall time: the machines running CI are shared.
double taostream_harness_time_parse(const char *library, const char *symbol,
                                    const HarnessLayer *layers, int layer_count, unsigned net_w,
                                    unsigned net_h, unsigned net_c, unsigned num_classes,
                                    const float *thresholds, int threshold_count, int iterations) {
  void *fn = symbol_of(library, symbol);
  if (fn == nullptr || iterations <= 0) return -1.0;
  const std::vector<NvDsInferLayerInfo> info = to_layers(layers, layer_count);
  const NvDsInferNetworkInfo net{net_w, net_h, net_c};
  const NvDsInferParseDetectionParams params = to_params(num_classes, thresholds, threshold_count);
  std::vector<NvDsInferObjectDetectionInfo> objects;
  const double start = thread_seconds();
  for (int i = 0; i < iterations; ++i) {
    objects.clear();
    if (!reinterpret_cast<NvDsInferParseCustomFunc>(fn)(info, net, params, objects)) return -1.0;
  }
  return (thread_seconds() - start) / iterations;
}

// Sizes and offsets of the ABI structs as this build lays them out (tests pin them to FACTS §4).
int taostream_harness_abi_layout(unsigned long *values, int capacity) {
  const unsigned long layout[] = {
      sizeof(NvDsInferDims),
      sizeof(NvDsInferLayerInfo),
      offsetof(NvDsInferLayerInfo, inferDims),
      offsetof(NvDsInferLayerInfo, bindingIndex),
      offsetof(NvDsInferLayerInfo, layerName),
      offsetof(NvDsInferLayerInfo, buffer),
      offsetof(NvDsInferLayerInfo, isInput),
      sizeof(NvDsInferNetworkInfo),
      sizeof(NvDsInferObjectDetectionInfo),
      sizeof(NvDsInferInstanceMaskInfo),
      offsetof(NvDsInferInstanceMaskInfo, mask),
      sizeof(NvDsInferAttribute),
  };
  const int n = static_cast<int>(sizeof layout / sizeof layout[0]);
  for (int i = 0; i < n && i < capacity; ++i) values[i] = layout[i];
  return n;
}

}  // extern "C"
