// Loads libtaostream_plugins.so the way TensorRT does, without TensorRT: this program defines the
// libnvinfer functions the library looks up (getPluginRegistry, getInferLibMajorVersion, getLogger)
// over an in-memory plugin registry, then dlopens the library (DeepStream's custom-lib-path, trtexec
// --staticPlugins), calls getCreators as IPluginRegistry::loadLibrary does, and drives each creator and
// plugin through the build-time calls that need no GPU (field names, createPlugin, configurePlugin,
// getOutputShapes, getOutputDataTypes, supportsFormatCombination, serialization round trip).
// Prints one JSON document; tests/test_plugin_library.py asserts on it.
//
// usage: taostream_plugin_harness LIBRARY [--builtin NAME]... [--major N] [--enqueue]
// --enqueue (needs a CUDA device): also runs every plugin's enqueue on generated inputs and compares
// the outputs byte for byte with the host implementation's ("enqueue" in the JSON; null without a
// device).
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <NvInferRuntime.h>
#include <NvInferVersion.h>
#include <cuda_runtime_api.h>

#include "BatchTilePlugin/batchTileHost.h"
#include "BatchedNMS/batchedNMSHost.h"
#include "CropAndResize/cropAndResizeHost.h"
#include "EfficientNMS/efficientNMSHost.h"
#include "GenerateDetection/generateDetectionHost.h"
#include "MultilevelCropAndResize/multilevelCropAndResizeHost.h"
#include "MultilevelProposeROI/multilevelProposeROIHost.h"
#include "NMS/nmsHost.h"
#include "Proposal/proposalHost.h"
#include "SpecialSlice/specialSliceHost.h"
#include "ResizeNearest/resizeNearestHost.h"

using namespace nvinfer1;

namespace {

std::string quoted(std::string const& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

std::string list(std::vector<std::string> const& items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
    return out + "]";
}

std::vector<std::string> gLog;

class RecordingLogger : public ILogger {
public:
    void log(Severity severity, char const* msg) noexcept override {
        gLog.push_back(quoted(std::to_string(static_cast<int>(severity)) + " " + msg));
    }
} gLogger;

// The registry: (name, version, namespace) -> creator, as TensorRT keys it.
using Key = std::tuple<std::string, std::string, std::string>;

class MemoryRegistry : public IPluginRegistry {
public:
    std::map<Key, IPluginCreatorInterface*> creators;

    mutable std::vector<IPluginCreatorInterface*> listed;
    std::vector<std::string> lookups;  // getCreator calls: TensorRT logs an error for each miss

    bool registerCreator(IPluginCreatorInterface& creator, AsciiChar const* const ns) noexcept override {
        std::string name = "?", version = "?";
        if (auto* v3 = dynamic_cast<IPluginCreatorV3One*>(&creator)) {
            name = v3->getPluginName();
            version = v3->getPluginVersion();
        } else if (auto* v1 = dynamic_cast<IPluginCreator*>(&creator)) {
            name = v1->getPluginName();
            version = v1->getPluginVersion();
        }
        return creators.emplace(Key{name, version, ns ? ns : ""}, &creator).second;
    }
    IPluginCreatorInterface* const* getAllCreators(int32_t* const n) const noexcept override {
        listed.clear();
        for (auto const& entry : creators) listed.push_back(entry.second);
        *n = static_cast<int32_t>(listed.size());
        return listed.data();
    }
    IPluginCreatorInterface* getCreator(AsciiChar const* const name, AsciiChar const* const version,
                                        AsciiChar const* const ns) noexcept override {
        lookups.push_back(name);
        auto found = creators.find(Key{name, version, ns ? ns : ""});
        return found == creators.end() ? nullptr : found->second;
    }
    bool deregisterCreator(IPluginCreatorInterface const& creator) noexcept override {
        for (auto it = creators.begin(); it != creators.end(); ++it) {
            if (it->second == &creator) {
                creators.erase(it);
                return true;
            }
        }
        return false;
    }
    void setErrorRecorder(IErrorRecorder* const) noexcept override {}
    IErrorRecorder* getErrorRecorder() const noexcept override { return nullptr; }
    bool isParentSearchEnabled() const override { return false; }
    void setParentSearchEnabled(bool const) override {}
    PluginLibraryHandle loadLibrary(AsciiChar const*) noexcept override { return nullptr; }
    void deregisterLibrary(PluginLibraryHandle) noexcept override {}
    IPluginResource* acquirePluginResource(AsciiChar const*, IPluginResource*) noexcept override { return nullptr; }
    int32_t releasePluginResource(AsciiChar const*) noexcept override { return 0; }
#if NV_TENSORRT_MAJOR > 10 || NV_TENSORRT_MINOR >= 10  // added in 10.10
    IPluginCreatorInterface* const* getAllCreatorsRecursive(int32_t* const n) noexcept override {
        *n = 0;
        return nullptr;
    }
#endif
#if NV_TENSORRT_MAJOR < 11
    bool registerCreator(IPluginCreator& creator, AsciiChar const* const ns) noexcept override {
        return registerCreator(static_cast<IPluginCreatorInterface&>(creator), ns);  // one registry for both
    }
    IPluginCreator* const* getPluginCreatorList(int32_t* const n) const noexcept override {
        *n = 0;
        return nullptr;
    }
    IPluginCreator* getPluginCreator(AsciiChar const* const, AsciiChar const* const,
                                     AsciiChar const* const) noexcept override {
        return nullptr;
    }
    bool deregisterCreator(IPluginCreator const&) noexcept override { return false; }
#endif

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (auto const& entry : creators) {
            out.push_back(quoted(std::get<0>(entry.first) + " " + std::get<1>(entry.first) + " " + std::get<2>(entry.first)));
        }
        return out;
    }
} gRegistry;

int32_t gMajor = NV_TENSORRT_MAJOR;

// TensorRT 10's own NMS_TRT & co. as the registry holds them after initLibNvInferPlugins: IPluginV2
// creators (IPluginCreator, interface kind "PLUGIN CREATOR_V1").
class BuiltinCreator : public IPluginCreator {
public:
    explicit BuiltinCreator(std::string name) : mName(std::move(name)) {}
    AsciiChar const* getPluginName() const noexcept override { return mName.c_str(); }
    AsciiChar const* getPluginVersion() const noexcept override { return "1"; }
    PluginFieldCollection const* getFieldNames() noexcept override { return &mNone; }
    IPluginV2* createPlugin(AsciiChar const*, PluginFieldCollection const*) noexcept override { return nullptr; }
    IPluginV2* deserializePlugin(AsciiChar const*, void const*, size_t) noexcept override { return nullptr; }
    void setPluginNamespace(AsciiChar const*) noexcept override {}
    AsciiChar const* getPluginNamespace() const noexcept override { return ""; }

private:
    std::string mName;
    PluginFieldCollection mNone{};
};

// Shape expressions over constants only.
class ConstantDim : public IDimensionExpr {
public:
    explicit ConstantDim(int64_t value) : mValue(value) { mImpl = &mDimImpl; }

private:
    struct Impl : apiv::VDimensionExpr {
        ConstantDim* self;
        bool isConstant() const override { return true; }
        int64_t getConstantValue() const override { return self->mValue; }
        bool isSizeTensor() const override { return false; }
    };
    int64_t mValue;
    Impl mDimImpl{};

public:
    void bind() { mDimImpl.self = this; }
};

class ConstantExprBuilder : public IExprBuilder {
public:
    ConstantExprBuilder() { mImpl = &mBuilderImpl; }
    IDimensionExpr const* make(int64_t value) {
        mDims.push_back(std::make_unique<ConstantDim>(value));
        mDims.back()->bind();
        return mDims.back().get();
    }

private:
    struct Impl : apiv::VExprBuilder {
        ConstantExprBuilder* self{nullptr};
        IDimensionExpr const* constant(int64_t value) override { return self->make(value); }
        IDimensionExpr const* operation(DimensionOperation, IDimensionExpr const&, IDimensionExpr const&) override {
            return nullptr;
        }
        IDimensionExpr const* declareSizeTensor(int32_t, IDimensionExpr const&, IDimensionExpr const&) override {
            return nullptr;
        }
    };
    std::vector<std::unique_ptr<ConstantDim>> mDims;
    Impl mBuilderImpl{};

public:
    void bind() { mBuilderImpl.self = this; }
};

struct Field {
    std::string name;
    PluginFieldType type;
    std::vector<int32_t> ints;
    std::vector<float> floats;
};

struct Case {
    std::string plugin;
    std::vector<Field> fields;
    std::vector<std::vector<int64_t>> inputs;
};

Field ints(std::string name, std::vector<int32_t> values) { return {std::move(name), PluginFieldType::kINT32, values, {}}; }
Field reals(std::string name, std::vector<float> values) { return {std::move(name), PluginFieldType::kFLOAT32, {}, values}; }

PluginFieldCollection collect(std::vector<Field> const& fields, std::vector<PluginField>& storage) {
    storage.clear();
    for (Field const& f : fields) {
        if (f.type == PluginFieldType::kINT32) {
            storage.emplace_back(f.name.c_str(), f.ints.data(), f.type, static_cast<int32_t>(f.ints.size()));
        } else {
            storage.emplace_back(f.name.c_str(), f.floats.data(), f.type, static_cast<int32_t>(f.floats.size()));
        }
    }
    return PluginFieldCollection{static_cast<int32_t>(storage.size()), storage.data()};
}

Dims dims(std::vector<int64_t> const& values) {
    Dims d{};
    d.nbDims = static_cast<int32_t>(values.size());
    for (size_t i = 0; i < values.size(); ++i) d.d[i] = values[i];
    return d;
}

std::string exprsJson(DimsExprs const& d) {
    std::vector<std::string> v;
    for (int32_t i = 0; i < d.nbDims; ++i) {
        v.push_back(d.d[i] && d.d[i]->isConstant() ? std::to_string(d.d[i]->getConstantValue()) : "null");
    }
    return list(v);
}

// What one plugin reports for one case.
std::string drive(IPluginCreatorV3One* creator, Case const& c) {
    std::vector<PluginField> storage;
    PluginFieldCollection fc = collect(c.fields, storage);
    std::unique_ptr<IPluginV3> plugin(creator->createPlugin("layer", &fc, TensorRTPhase::kBUILD));
    if (!plugin) return "{\"created\": false}";
    auto* core = static_cast<IPluginV3OneCore*>(plugin->getCapabilityInterface(PluginCapabilityType::kCORE));
    auto* build = static_cast<IPluginV3OneBuild*>(plugin->getCapabilityInterface(PluginCapabilityType::kBUILD));
    auto* runtime = static_cast<IPluginV3OneRuntime*>(plugin->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    std::string out = "{\"created\": true, \"name\": " + quoted(core->getPluginName()) +
                      ", \"version\": " + quoted(core->getPluginVersion()) + ", \"interfaces\": " +
                      list({quoted(core->getInterfaceInfo().kind), quoted(build->getInterfaceInfo().kind),
                            quoted(runtime->getInterfaceInfo().kind)});
    const int32_t nbInputs = static_cast<int32_t>(c.inputs.size());
    const int32_t nbOutputs = build->getNbOutputs();
    ConstantExprBuilder builder;
    builder.bind();
    std::vector<DimsExprs> inputExprs(nbInputs);
    for (int32_t i = 0; i < nbInputs; ++i) {
        inputExprs[i].nbDims = static_cast<int32_t>(c.inputs[i].size());
        for (size_t k = 0; k < c.inputs[i].size(); ++k) inputExprs[i].d[k] = builder.constant(c.inputs[i][k]);
    }
    std::vector<DimsExprs> outputExprs(nbOutputs);
    const int32_t shapeStatus =
        build->getOutputShapes(inputExprs.data(), nbInputs, nullptr, 0, outputExprs.data(), nbOutputs, builder);
    std::vector<DataType> inputTypes(nbInputs, DataType::kFLOAT), outputTypes(nbOutputs);
    build->getOutputDataTypes(outputTypes.data(), nbOutputs, inputTypes.data(), nbInputs);
    std::vector<std::string> shapes, types;
    for (int32_t o = 0; o < nbOutputs; ++o) {
        shapes.push_back(shapeStatus == 0 ? exprsJson(outputExprs[o]) : "null");
        types.push_back(std::to_string(static_cast<int32_t>(outputTypes[o])));
    }
    std::vector<DynamicPluginTensorDesc> in(nbInputs), outDesc(nbOutputs);
    for (int32_t i = 0; i < nbInputs; ++i) {
        in[i].desc.dims = in[i].min = in[i].max = in[i].opt = dims(c.inputs[i]);
        in[i].desc.type = DataType::kFLOAT;
        in[i].desc.format = TensorFormat::kLINEAR;
    }
    for (int32_t o = 0; o < nbOutputs; ++o) {
        outDesc[o].desc.type = outputTypes[o];
        outDesc[o].desc.format = TensorFormat::kLINEAR;
    }
    const int32_t configured = build->configurePlugin(in.data(), nbInputs, outDesc.data(), nbOutputs);
    // formats: every position as declared, then input 0 as FP16 and as CHW32
    std::vector<DynamicPluginTensorDesc> inOut(in);
    inOut.insert(inOut.end(), outDesc.begin(), outDesc.end());
    bool declared = true;
    for (int32_t p = 0; p < nbInputs + nbOutputs; ++p) {
        declared = declared && build->supportsFormatCombination(p, inOut.data(), nbInputs, nbOutputs);
    }
    inOut[0].desc.type = DataType::kHALF;
    const bool half = build->supportsFormatCombination(0, inOut.data(), nbInputs, nbOutputs);
    inOut[0].desc.type = DataType::kFLOAT;
    inOut[0].desc.format = TensorFormat::kCHW32;
    const bool chw32 = build->supportsFormatCombination(0, inOut.data(), nbInputs, nbOutputs);
    // serialized fields -> a new plugin (runtime phase) -> the same fields
    PluginFieldCollection const* saved = runtime->getFieldsToSerialize();
    std::vector<std::string> savedNames, largest;
    for (int32_t f = 0; f < saved->nbFields; ++f) {
        savedNames.push_back(quoted(saved->fields[f].name));
        if (std::strcmp(saved->fields[f].name, "taostream_largest_input_dims") == 0) {
            for (int32_t k = 0; k < saved->fields[f].length; ++k) {
                largest.push_back(std::to_string(static_cast<int32_t const*>(saved->fields[f].data)[k]));
            }
        }
    }
    std::unique_ptr<IPluginV3> restored(creator->createPlugin("layer", saved, TensorRTPhase::kRUNTIME));
    bool same = restored != nullptr;
    if (same) {
        auto* again = static_cast<IPluginV3OneRuntime*>(restored->getCapabilityInterface(PluginCapabilityType::kRUNTIME))
                          ->getFieldsToSerialize();
        saved = runtime->getFieldsToSerialize();
        same = again->nbFields == saved->nbFields;
        for (int32_t f = 0; same && f < saved->nbFields; ++f) {
            PluginField const& a = saved->fields[f];
            PluginField const& b = again->fields[f];
            same = std::strcmp(a.name, b.name) == 0 && a.type == b.type && a.length == b.length &&
                   std::memcmp(a.data, b.data, static_cast<size_t>(a.length) * 4) == 0;
        }
    }
    std::unique_ptr<IPluginV3> cloned(plugin->clone());
    out += ", \"output_shapes\": " + list(shapes) + ", \"output_types\": " + list(types) +
           ", \"configure\": " + std::to_string(configured) + ", \"formats_declared\": " + (declared ? "true" : "false") +
           ", \"accepts_fp16\": " + (half ? "true" : "false") + ", \"accepts_chw32\": " + (chw32 ? "true" : "false") +
           ", \"serialized_fields\": " + list(savedNames) + ", \"largest_input_dims\": " + list(largest) +
           ", \"round_trip\": " + (same ? "true" : "false") +
           ", \"clone\": " + (cloned ? "true" : "false") + "}";
    return out;
}

std::vector<Case> cases() {
    // SSD-like: 10 priors, 3 classes, shared location; inputOrder default (loc 0, conf 2, priors 1)
    Field nmsCommon[] = {ints("numClasses", {3}), ints("topK", {8}), ints("keepTopK", {5}),
                         reals("confidenceThreshold", {0.1f}), reals("nmsThreshold", {0.5f})};
    std::vector<Field> nms(std::begin(nmsCommon), std::end(nmsCommon));
    std::vector<Field> batched = {ints("shareLocation", {1}),   ints("backgroundLabelId", {-1}),
                                  ints("numClasses", {3}),      ints("topK", {10}),
                                  ints("keepTopK", {5}),        reals("scoreThreshold", {0.3f}),
                                  reals("iouThreshold", {0.5f})};
    std::vector<Field> propose = {ints("prenms_topk", {1000}), ints("keep_topk", {1000}),
                                  reals("fg_threshold", {0.0f}), reals("iou_threshold", {0.7f}),
                                  ints("image_size", {3, 832, 1344})};
    const int64_t anchors[5] = {208 * 336 * 3, 104 * 168 * 3, 52 * 84 * 3, 26 * 42 * 3, 13 * 21 * 3};
    std::vector<std::vector<int64_t>> proposeInputs;
    for (int64_t a : anchors) {
        proposeInputs.push_back({1, a, 4, 1});
        proposeInputs.push_back({1, a, 1, 1});
    }
    std::vector<std::vector<int64_t>> wrongPropose = proposeInputs;
    wrongPropose[1] = {1, anchors[0] - 3, 1, 1};
    std::vector<Field> detection = {ints("num_classes", {2}), ints("keep_topk", {100}),
                                    reals("score_threshold", {0.6f}), reals("iou_threshold", {0.5f}),
                                    ints("image_size", {3, 832, 1344})};
    std::vector<Field> crop = {ints("pooled_size", {7}), ints("image_size", {3, 832, 1344})};
    std::vector<Field> proposal = {ints("input_height", {384}),       ints("input_width", {1248}),
                                   ints("rpn_stride", {16}),          reals("roi_min_size", {1.0f}),
                                   reals("nms_iou_threshold", {0.7f}), ints("pre_nms_top_n", {6000}),
                                   ints("post_nms_top_n", {300}),     reals("anchor_sizes", {64.0f, 128.0f, 256.0f}),
                                   reals("anchor_ratios", {1.0f, 0.5f, 2.0f})};
    std::vector<Field> proposalNoStride = proposal;
    proposalNoStride.erase(proposalNoStride.begin() + 2);
    std::vector<Field> proposalZeroRatio = proposal;
    proposalZeroRatio[8] = reals("anchor_ratios", {1.0f, 0.0f, 2.0f});
    std::vector<Field> efficient = {reals("score_threshold", {0.4f}), reals("iou_threshold", {0.5f}),
                                    ints("max_output_boxes", {100}), ints("background_class", {-1}),
                                    ints("score_activation", {1}),   ints("box_coding", {1})};
    std::vector<Field> efficientCentreSizeOfTwo = efficient;
    efficientCentreSizeOfTwo[5] = ints("box_coding", {2});
    std::vector<Field> nmsNoTopK = {ints("numClasses", {3}), ints("keepTopK", {5})};
    std::vector<Field> nmsKeepAboveTopK = nms;
    nmsKeepAboveTopK[2] = ints("keepTopK", {9});
    std::vector<Field> nmsBadLength = nms;
    nmsBadLength.push_back(ints("inputOrder", {0, 1}));
    // FasterRCNN at TAO's size: 300 rois on a 1024-channel 24x78 map, 7x7 crops
    std::vector<Field> cropResize = {ints("crop_width", {7}), ints("crop_height", {7})};
    std::vector<Field> cropNoHeight = {ints("crop_width", {7})};
    std::vector<Field> resize = {reals("scale", {2.0f})};
    std::vector<Field> resizeZero = {reals("scale", {0.0f})};
    return {
        {"NMS_TRT", nms, {{2, 40, 1, 1}, {1, 2, 40, 1}, {2, 30, 1, 1}}},
        {"NMSDynamic_TRT", nms, {{2, 40, 1, 1}, {1, 2, 40, 1}, {2, 30, 1, 1}}},
        {"NMS_TRT", nms, {{2, 40, 1, 1}, {1, 2, 40, 1}, {2, 33, 1, 1}}},  // conf does not match 10 priors x 3
        {"NMS_TRT", nmsNoTopK, {{2, 40, 1, 1}, {1, 2, 40, 1}, {2, 30, 1, 1}}},
        {"NMS_TRT", nmsKeepAboveTopK, {{2, 40, 1, 1}, {1, 2, 40, 1}, {2, 30, 1, 1}}},
        {"NMS_TRT", nmsBadLength, {{2, 40, 1, 1}, {1, 2, 40, 1}, {2, 30, 1, 1}}},
        {"BatchedNMS_TRT", batched, {{2, 10, 1, 4}, {2, 10, 3}}},
        {"BatchedNMSDynamic_TRT", batched, {{2, 10, 1, 4}, {2, 10, 3}}},
        {"MultilevelProposeROI_TRT", propose, proposeInputs},
        {"MultilevelProposeROI_TRT", propose, wrongPropose},
        {"GenerateDetection_TRT", detection, {{1, 1000, 8, 1, 1}, {1, 1000, 2, 1, 1}, {1, 1000, 4}}},
        {"MultilevelCropAndResize_TRT", crop,
         {{1, 1000, 4}, {1, 256, 208, 336}, {1, 256, 104, 168}, {1, 256, 52, 84}, {1, 256, 26, 42}, {1, 256, 13, 21}}},
        {"SpecialSlice_TRT", {}, {{1, 100, 6}}},
        {"SpecialSlice_TRT", {}, {{1, 100, 5}}},  // not GenerateDetection's rows
        // TAO FasterRCNN at 384x1248: 3 sizes x 3 ratios on a 24x78 grid
        {"Proposal", proposal, {{2, 9, 24, 78}, {2, 36, 24, 78}}},
        {"ProposalDynamic", proposal, {{2, 9, 24, 78}, {2, 36, 24, 78}}},
        {"Proposal", proposal, {{2, 9, 24, 78}, {2, 32, 24, 78}}},  // deltas of 8 anchors
        {"Proposal", proposalNoStride, {{2, 9, 24, 78}, {2, 36, 24, 78}}},
        {"Proposal", proposalZeroRatio, {{2, 9, 24, 78}, {2, 36, 24, 78}}},
        {"BatchTilePlugin_TRT", {}, {{2, 3, 300, 300}, {1, 2, 40, 1}}},  // SSD's priors for a batch of 2
        {"CropAndResize", cropResize, {{1, 1024, 24, 78}, {1, 300, 4, 1}}},
        {"CropAndResizeDynamic", cropResize, {{1, 1024, 24, 78}, {1, 300, 4, 1}}},
        {"ResizeNearest_TRT", resize, {{1, 256, 13, 21}}},  // YOLOv3's upsampling
        {"CropAndResize", cropResize, {{1, 1024, 24, 78}, {2, 300, 4, 1}}},  // rois of another batch size
        {"CropAndResize", cropNoHeight, {{1, 1024, 24, 78}, {1, 300, 4, 1}}},
        {"ResizeNearest_TRT", resizeZero, {{1, 256, 13, 21}}},
        {"ResizeNearest_TRT", {reals("scale", {1.5f})}, {{2, 3, 5, 7}}},
        // TAO EfficientDet-D0 at 512x512: 49104 anchors, 90 classes, the fused box decoder
        {"EfficientNMS_TRT", efficient, {{1, 49104, 4}, {1, 49104, 90}, {1, 49104, 4}}},
        {"EfficientNMS_TRT", efficient, {{1, 49104, 4}, {1, 49104, 90}, {1, 49000, 4}}},  // anchors short
        {"EfficientNMS_TRT", efficientCentreSizeOfTwo, {{1, 49104, 4}, {1, 49104, 90}}},
        {"EfficientNMS_TRT", {}, {{2, 100, 3, 4}, {2, 100, 3}}},  // OSS defaults, per-class boxes
    };
}

// --enqueue: on a machine with a CUDA device, run every plugin's enqueue on generated inputs and
// compare its outputs byte for byte with the host implementation called directly (the code that is
// equal to the numpy reference). Small shapes; deterministic inputs.
struct Lcg {
    uint64_t state;
    float uniform(float lo, float hi) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return lo + (hi - lo) * static_cast<float>((state >> 40) & 0xFFFFFF) / 16777216.0f;
    }
};

struct EnqueueCase {
    std::string plugin;
    std::vector<Field> fields;
    std::vector<std::vector<int64_t>> inputs;
    std::vector<std::vector<float>> data;
    std::vector<std::vector<char>> expected;  // the host implementation's outputs
};

int64_t count(std::vector<int64_t> const& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

template <typename T>
std::vector<char> bytesOf(std::vector<T> const& values) {
    std::vector<char> out(values.size() * sizeof(T));
    std::memcpy(out.data(), values.data(), out.size());
    return out;
}

// Pixel boxes (y1, x1, y2, x2) inside a size x size image.
void pixelBoxes(Lcg& rng, std::vector<float>& out, int64_t boxes, float size) {
    for (int64_t i = 0; i < boxes; ++i) {
        const float y1 = rng.uniform(0, size * 0.7f), x1 = rng.uniform(0, size * 0.7f);
        out.insert(out.end(), {y1, x1, y1 + rng.uniform(8, size * 0.3f), x1 + rng.uniform(8, size * 0.3f)});
    }
}

std::vector<EnqueueCase> enqueueCases() {
    Lcg rng{12345};
    std::vector<EnqueueCase> cases;
    auto fill = [&](EnqueueCase& c, int input, float lo, float hi) {
        c.data[input].resize(count(c.inputs[input]));
        for (float& v : c.data[input]) v = rng.uniform(lo, hi);
    };
    {  // NMS: 2 images, 64 priors, 4 classes, shared location, TF_CENTER, sigmoid
        for (char const* name : {"NMS_TRT", "NMSDynamic_TRT"}) {
            EnqueueCase c{name,
                          {ints("numClasses", {4}), ints("topK", {20}), ints("keepTopK", {10}),
                           reals("confidenceThreshold", {0.3f}), reals("nmsThreshold", {0.5f}),
                           ints("confSigmoid", {1})},
                          {{2, 64 * 4, 1, 1}, {1, 2, 64 * 4, 1}, {2, 64 * 4, 1, 1}},
                          {},
                          {}};
            c.data.resize(3);
            fill(c, 0, -0.5f, 0.5f);
            fill(c, 2, -3.0f, 3.0f);
            for (int p = 0; p < 64; ++p) {
                const float x = rng.uniform(0, 0.8f), y = rng.uniform(0, 0.8f);
                c.data[1].insert(c.data[1].end(), {x, y, x + rng.uniform(0.05f, 0.2f), y + rng.uniform(0.05f, 0.2f)});
            }
            for (int p = 0; p < 64; ++p) c.data[1].insert(c.data[1].end(), {0.1f, 0.1f, 0.2f, 0.2f});
            std::vector<float> detections(2 * 10 * 7);
            std::vector<int32_t> counts(2);
            taostream_nms(2, 64, 4, 1, 1, 0, 20, 10, 0.3f, 0.5f, 1, 1, 0, 3, c.data[0].data(), c.data[2].data(),
                          c.data[1].data(), detections.data(), counts.data());
            c.expected = {bytesOf(detections), bytesOf(counts)};
            cases.push_back(c);
        }
    }
    {  // NMSDynamic: 3 images, 40 priors, 3 classes, per-class loc (shareLocation 0), background 2, CORNER
       // code with variances, pixel priors (Caffe IoU), conf on a quarter grid (ties), a NaN loc in
       // image 1 (no detections there, one warning); the host implementation per image, as the plugin's
       // host path wrote it (the image index in column 0, padding rows for the NaN image)
        EnqueueCase c{"NMSDynamic_TRT",
                      {ints("shareLocation", {0}), ints("numClasses", {3}), ints("backgroundLabelId", {2}),
                       ints("topK", {30}), ints("keepTopK", {20}), reals("confidenceThreshold", {0.2f}),
                       reals("nmsThreshold", {0.45f}), ints("codeType", {0}), ints("isNormalized", {0})},
                      {{3, 40 * 3 * 4, 1, 1}, {1, 2, 40 * 4, 1}, {3, 40 * 3, 1, 1}},
                      {},
                      {}};
        c.data.resize(3);
        fill(c, 0, -2.0f, 2.0f);
        pixelBoxes(rng, c.data[1], 40, 300);
        for (int p = 0; p < 40; ++p) c.data[1].insert(c.data[1].end(), {0.1f, 0.1f, 0.2f, 0.2f});
        c.data[2].resize(3 * 40 * 3);
        for (float& v : c.data[2]) v = static_cast<float>(static_cast<int>(rng.uniform(0.0f, 5.0f))) / 4.0f;
        c.data[0][40 * 3 * 4 + 7] = std::nanf("");
        std::vector<float> detections(3 * 20 * 7, 0.0f);
        std::vector<int32_t> counts(3, 0);
        for (int image = 0; image < 3; ++image) {
            float* rows = detections.data() + image * 20 * 7;
            if (taostream_nms(1, 40, 3, 1, 0, 2, 30, 20, 0.2f, 0.45f, 0, 0, 0, 0, c.data[0].data() + image * 40 * 3 * 4,
                              c.data[2].data() + image * 40 * 3, c.data[1].data(), rows, counts.data() + image) != 0) {
                counts[image] = 0;
                for (int r = 0; r < 20; ++r) {
                    std::fill_n(rows + r * 7, 7, 0.0f);
                    rows[r * 7 + 1] = -1.0f;
                }
            }
            for (int r = 0; r < 20; ++r) rows[r * 7] = static_cast<float>(image);
        }
        c.expected = {bytesOf(detections), bytesOf(counts)};
        cases.push_back(c);
    }
    {  // BatchedNMS: 2 images, 50 boxes, 3 classes, per-class boxes
        for (char const* name : {"BatchedNMS_TRT", "BatchedNMSDynamic_TRT"}) {
            EnqueueCase c{name,
                          {ints("shareLocation", {0}), ints("backgroundLabelId", {-1}), ints("numClasses", {3}),
                           ints("topK", {30}), ints("keepTopK", {12}), reals("scoreThreshold", {0.2f}),
                           reals("iouThreshold", {0.5f})},
                          {{2, 50, 3, 4}, {2, 50, 3}},
                          {},
                          {}};
            c.data.resize(2);
            for (int64_t i = 0; i < 2 * 50 * 3; ++i) {
                const float x = rng.uniform(0, 0.8f), y = rng.uniform(0, 0.8f);
                c.data[0].insert(c.data[0].end(), {x, y, x + rng.uniform(0.05f, 0.3f), y + rng.uniform(0.05f, 0.3f)});
            }
            fill(c, 1, 0.0f, 1.0f);
            std::vector<int32_t> num(2);
            std::vector<float> boxes(2 * 12 * 4), scores(2 * 12), classes(2 * 12);
            taostream_batched_nms(2, 50, 3, 0, -1, 30, 12, 0.2f, 0.5f, 1, 1, 1, c.data[0].data(), c.data[1].data(),
                                  num.data(), boxes.data(), scores.data(), classes.data());
            c.expected = {bytesOf(num), bytesOf(boxes), bytesOf(scores), bytesOf(classes)};
            cases.push_back(c);
        }
    }
    {  // BatchedNMSDynamic: 3 images, 70 shared boxes (pixels, no Caffe +1), 4 classes with background 0,
       // scores on a grid of thirds (ties in and across classes), a NaN score in image 1 (no detections
       // there, one warning); the host implementation per image as the plugin's host-staged path ran it
        EnqueueCase c{"BatchedNMSDynamic_TRT",
                      {ints("shareLocation", {1}), ints("backgroundLabelId", {0}), ints("numClasses", {4}),
                       ints("topK", {40}), ints("keepTopK", {25}), reals("scoreThreshold", {0.2f}),
                       reals("iouThreshold", {0.4f}), ints("isNormalized", {0}), ints("caffeSemantics", {0}),
                       ints("clipBoxes", {0})},
                      {{3, 70, 1, 4}, {3, 70, 4}},
                      {},
                      {}};
        c.data.resize(2);
        pixelBoxes(rng, c.data[0], 3 * 70, 300);
        c.data[1].resize(3 * 70 * 4);
        for (float& v : c.data[1]) v = static_cast<float>(static_cast<int>(rng.uniform(0.0f, 4.0f))) / 3.0f;
        c.data[1][70 * 4 + 33] = std::nanf("");
        std::vector<int32_t> num(3, 0);
        std::vector<float> boxes(3 * 25 * 4, 0.0f), scores(3 * 25, 0.0f), classes(3 * 25, -1.0f);
        for (int image = 0; image < 3; ++image) {
            const int status = taostream_batched_nms(
                1, 70, 4, 1, 0, 40, 25, 0.2f, 0.4f, 0, 0, 0, c.data[0].data() + image * 70 * 4,
                c.data[1].data() + image * 70 * 4, num.data() + image, boxes.data() + image * 25 * 4,
                scores.data() + image * 25, classes.data() + image * 25);
            if (status != 0) {  // NaN: the padding stays
                num[image] = 0;
                std::fill_n(boxes.begin() + image * 25 * 4, 25 * 4, 0.0f);
                std::fill_n(scores.begin() + image * 25, 25, 0.0f);
                std::fill_n(classes.begin() + image * 25, 25, -1.0f);
            }
        }
        c.expected = {bytesOf(num), bytesOf(boxes), bytesOf(scores), bytesOf(classes)};
        cases.push_back(c);
    }
    {  // MultilevelProposeROI at 256x256
        int64_t anchors[5];
        taostream_mrcnn_level_anchor_counts(256, 256, anchors);
        EnqueueCase c{"MultilevelProposeROI_TRT",
                      {ints("prenms_topk", {300}), ints("keep_topk", {100}), reals("fg_threshold", {0.0f}),
                       reals("iou_threshold", {0.7f}), ints("image_size", {3, 256, 256})},
                      {},
                      {},
                      {}};
        for (int64_t a : anchors) {
            c.inputs.push_back({1, a, 4, 1});
            c.inputs.push_back({1, a, 1, 1});
        }
        c.data.resize(10);
        const float* deltas[5];
        const float* scores[5];
        for (int l = 0; l < 5; ++l) {
            fill(c, 2 * l, -0.3f, 0.3f);
            fill(c, 2 * l + 1, 0.0f, 1.0f);
            deltas[l] = c.data[2 * l].data();
            scores[l] = c.data[2 * l + 1].data();
        }
        std::vector<float> rois(100 * 4);
        taostream_multilevel_propose_roi(1, 256, 256, 300, 100, 0.0f, 0.7f, deltas, scores, anchors, rois.data());
        c.expected = {bytesOf(rois)};
        cases.push_back(c);
    }
    {  // MultilevelProposeROI: 3 images at 192x128, prenms_topk 600 (over one 512-thread gather block),
       // scores on a grid of eighths (ties at every sort), a NaN score in image 1 (zero rois there, one
       // warning); the host implementation per image, as the plugin's host path ran it
        int64_t anchors[5];
        taostream_mrcnn_level_anchor_counts(192, 128, anchors);
        EnqueueCase c{"MultilevelProposeROI_TRT",
                      {ints("prenms_topk", {600}), ints("keep_topk", {250}), reals("fg_threshold", {0.0f}),
                       reals("iou_threshold", {0.6f}), ints("image_size", {3, 192, 128})},
                      {},
                      {},
                      {}};
        for (int64_t a : anchors) {
            c.inputs.push_back({3, a, 4, 1});
            c.inputs.push_back({3, a, 1, 1});
        }
        c.data.resize(10);
        for (int l = 0; l < 5; ++l) {
            fill(c, 2 * l, -0.3f, 0.3f);
            c.data[2 * l + 1].resize(count(c.inputs[2 * l + 1]));
            for (float& v : c.data[2 * l + 1]) v = static_cast<float>(static_cast<int>(rng.uniform(0.0f, 9.0f))) / 8.0f;
        }
        c.data[3][anchors[1] + 5] = std::nanf("");  // level P3, image 1
        std::vector<float> rois(3 * 250 * 4, 0.0f);
        for (int image = 0; image < 3; ++image) {
            const float* deltas[5];
            const float* scores[5];
            for (int l = 0; l < 5; ++l) {
                deltas[l] = c.data[2 * l].data() + image * anchors[l] * 4;
                scores[l] = c.data[2 * l + 1].data() + image * anchors[l];
            }
            if (taostream_multilevel_propose_roi(1, 192, 128, 600, 250, 0.0f, 0.6f, deltas, scores, anchors,
                                                 rois.data() + image * 250 * 4) != 0) {
                std::fill_n(rois.begin() + image * 250 * 4, 250 * 4, 0.0f);  // NaN: zero rois
            }
        }
        c.expected = {bytesOf(rois)};
        cases.push_back(c);
    }
    {  // GenerateDetection: 60 rois, 3 classes
        EnqueueCase c{"GenerateDetection_TRT",
                      {ints("num_classes", {3}), ints("keep_topk", {20}), reals("score_threshold", {0.3f}),
                       reals("iou_threshold", {0.5f}), ints("image_size", {3, 256, 256})},
                      {{1, 60, 12, 1, 1}, {1, 60, 3, 1, 1}, {1, 60, 4}},
                      {},
                      {}};
        c.data.resize(3);
        fill(c, 0, -0.2f, 0.2f);
        fill(c, 1, 0.0f, 1.0f);
        pixelBoxes(rng, c.data[2], 60, 256);
        std::vector<float> detections(20 * 6);
        taostream_generate_detection(1, 60, 3, 20, 0.3f, 0.5f, 256, 256, c.data[0].data(), c.data[1].data(),
                                     c.data[2].data(), detections.data());
        c.expected = {bytesOf(detections)};
        cases.push_back(c);
    }
    {  // MultilevelCropAndResize: 40 rois, 8 channels, 256x256 pyramid
        EnqueueCase c{"MultilevelCropAndResize_TRT",
                      {ints("pooled_size", {7}), ints("image_size", {3, 256, 256})},
                      {{1, 40, 4}, {1, 8, 64, 64}, {1, 8, 32, 32}, {1, 8, 16, 16}, {1, 8, 8, 8}, {1, 8, 4, 4}},
                      {},
                      {}};
        c.data.resize(6);
        pixelBoxes(rng, c.data[0], 40, 256);
        const float* features[5];
        int32_t heights[5], widths[5];
        for (int l = 0; l < 5; ++l) {
            fill(c, 1 + l, -1.0f, 1.0f);
            features[l] = c.data[1 + l].data();
            heights[l] = static_cast<int32_t>(c.inputs[1 + l][2]);
            widths[l] = static_cast<int32_t>(c.inputs[1 + l][3]);
        }
        std::vector<float> out(40 * 8 * 7 * 7);
        taostream_multilevel_crop_and_resize(1, 40, 8, 7, 256, 256, c.data[0].data(), features, heights, widths,
                                             out.data());
        c.expected = {bytesOf(out)};
        cases.push_back(c);
    }
    {  // Proposal / ProposalDynamic: 2 images at 64x96, stride 16 (4x6 grid), 2 sizes x 3 ratios
        for (char const* name : {"Proposal", "ProposalDynamic"}) {
            EnqueueCase c{name,
                          {ints("input_height", {64}), ints("input_width", {96}), ints("rpn_stride", {16}),
                           reals("roi_min_size", {1.0f}), reals("nms_iou_threshold", {0.7f}),
                           ints("pre_nms_top_n", {100}), ints("post_nms_top_n", {20}),
                           reals("anchor_sizes", {16.0f, 32.0f}), reals("anchor_ratios", {0.5f, 1.0f, 2.0f})},
                          {{2, 6, 4, 6}, {2, 24, 4, 6}},
                          {},
                          {}};
            c.data.resize(2);
            fill(c, 0, 0.0f, 1.0f);
            fill(c, 1, -0.3f, 0.3f);
            const float sizes[] = {16.0f, 32.0f}, ratios[] = {0.5f, 1.0f, 2.0f};
            std::vector<float> rois(2 * 20 * 4);
            taostream_proposal(2, 6, 4, 6, 64, 96, 16, 1.0f, 0.7f, 100, 20, 2, sizes, 3, ratios, c.data[0].data(),
                               c.data[1].data(), rois.data());
            c.expected = {bytesOf(rois)};
            cases.push_back(c);
        }
    }
    {  // ProposalDynamic: 3 images, 9 anchors on a 6x8 grid (432 candidates, 7 mask words), scores on a
       // quarter grid (ties), roi_min_size 8 (-inf scores), pre_nms_top_n 300, a NaN score in image 1 (zero
       // rois there, one warning); the host implementation per image, as the plugin's host path ran it
        EnqueueCase c{"ProposalDynamic",
                      {ints("input_height", {96}), ints("input_width", {128}), ints("rpn_stride", {16}),
                       reals("roi_min_size", {8.0f}), reals("nms_iou_threshold", {0.6f}),
                       ints("pre_nms_top_n", {300}), ints("post_nms_top_n", {60}),
                       reals("anchor_sizes", {16.0f, 32.0f, 64.0f}), reals("anchor_ratios", {0.5f, 1.0f, 2.0f})},
                      {{3, 9, 6, 8}, {3, 36, 6, 8}},
                      {},
                      {}};
        c.data.resize(2);
        c.data[0].resize(3 * 9 * 6 * 8);
        for (float& v : c.data[0]) v = static_cast<float>(static_cast<int>(rng.uniform(0.0f, 5.0f))) / 4.0f;
        fill(c, 1, -0.5f, 0.5f);
        c.data[0][9 * 6 * 8 + 100] = std::nanf("");
        const float sizes[] = {16.0f, 32.0f, 64.0f}, ratios[] = {0.5f, 1.0f, 2.0f};
        std::vector<float> rois(3 * 60 * 4, 0.0f);
        for (int image = 0; image < 3; ++image) {
            if (taostream_proposal(1, 9, 6, 8, 96, 128, 16, 8.0f, 0.6f, 300, 60, 3, sizes, 3, ratios,
                                   c.data[0].data() + image * 9 * 6 * 8, c.data[1].data() + image * 36 * 6 * 8,
                                   rois.data() + image * 60 * 4) != 0) {
                std::fill_n(rois.begin() + image * 60 * 4, 60 * 4, 0.0f);  // NaN: zero rois
            }
        }
        c.expected = {bytesOf(rois)};
        cases.push_back(c);
    }
    {  // EfficientNMS: 2 images, 80 boxes, 3 classes; corners, then the fused decoder with per-image
       // anchors, sigmoid and class_agnostic
        for (int variant = 0; variant < 2; ++variant) {
            const bool fused = variant == 1;
            EnqueueCase c{"EfficientNMS_TRT",
                          {reals("score_threshold", {0.3f}), reals("iou_threshold", {0.5f}),
                           ints("max_output_boxes", {15}), ints("background_class", {fused ? 0 : -1}),
                           ints("score_activation", {fused ? 1 : 0}), ints("class_agnostic", {fused ? 1 : 0}),
                           ints("box_coding", {fused ? 1 : 0})},
                          {{2, 80, 4}, {2, 80, 3}},
                          {},
                          {}};
            c.data.resize(fused ? 3 : 2);
            if (fused) {
                c.inputs.push_back({2, 80, 4});
                fill(c, 0, -0.2f, 0.2f);  // centre-size deltas
                pixelBoxes(rng, c.data[2], 80, 256);
            } else {
                pixelBoxes(rng, c.data[0], 80, 256);
            }
            fill(c, 1, fused ? -3.0f : 0.0f, fused ? 3.0f : 1.0f);
            // the plugin's sortThreshold(): the logit in double, rounded, under score_activation
            const float threshold = fused ? static_cast<float>(std::log(static_cast<double>(0.3f / (1.0f - 0.3f)))) : 0.3f;
            std::vector<int32_t> num(2), classes(2 * 15);
            std::vector<float> boxes(2 * 15 * 4), scores(2 * 15);
            taostream_efficient_nms(2, 80, 3, 1, fused ? 2 : 0, fused ? 1 : 0, fused ? 0 : -1, fused, fused, threshold,
                                    0.5f, 15, 5000, c.data[0].data(), c.data[1].data(),
                                    fused ? c.data[2].data() : nullptr, num.data(), boxes.data(), scores.data(),
                                    classes.data());
            c.expected = {bytesOf(num), bytesOf(boxes), bytesOf(scores), bytesOf(classes)};
            cases.push_back(c);
        }
    }
    {  // EfficientNMS: per-class boxes [2, 60, 3, 4], scores on a grid of thirds (ties), background 1, a
       // NaN score in image 0 (no detections there, one warning); the host implementation per image
        EnqueueCase c{"EfficientNMS_TRT",
                      {reals("score_threshold", {0.3f}), reals("iou_threshold", {0.4f}), ints("max_output_boxes", {30}),
                       ints("background_class", {1})},
                      {{2, 60, 3, 4}, {2, 60, 3}},
                      {},
                      {}};
        c.data.resize(2);
        pixelBoxes(rng, c.data[0], 2 * 60 * 3, 128);
        c.data[1].resize(2 * 60 * 3);
        for (float& v : c.data[1]) v = static_cast<float>(static_cast<int>(rng.uniform(0.0f, 4.0f))) / 3.0f;
        c.data[1][17] = std::nanf("");
        std::vector<int32_t> num(2, 0), classes(2 * 30, 0);
        std::vector<float> boxes(2 * 30 * 4, 0.0f), scores(2 * 30, 0.0f);
        for (int image = 0; image < 2; ++image) {
            const int status = taostream_efficient_nms(
                1, 60, 3, 3, 0, 0, 1, 0, 0, 0.3f, 0.4f, 30, 5000, c.data[0].data() + image * 60 * 3 * 4,
                c.data[1].data() + image * 60 * 3, nullptr, num.data() + image, boxes.data() + image * 30 * 4,
                scores.data() + image * 30, classes.data() + image * 30);
            if (status != 0) {  // NaN: zero rows
                num[image] = 0;
                std::fill_n(boxes.begin() + image * 30 * 4, 30 * 4, 0.0f);
                std::fill_n(scores.begin() + image * 30, 30, 0.0f);
                std::fill_n(classes.begin() + image * 30, 30, 0);
            }
        }
        c.expected = {bytesOf(num), bytesOf(boxes), bytesOf(scores), bytesOf(classes)};
        cases.push_back(c);
    }
    {  // SpecialSlice: GenerateDetection's [2, 30, 6] rows, padding rows included
        EnqueueCase c{"SpecialSlice_TRT", {}, {{2, 30, 6}}, {}, {}};
        c.data.resize(1);
        fill(c, 0, -10.0f, 300.0f);
        std::vector<float> boxes(2 * 30 * 4);
        taostream_special_slice(2 * 30, c.data[0].data(), boxes.data());
        c.expected = {bytesOf(boxes)};
        cases.push_back(c);
    }
    {  // BatchTile: SSD-like priors [1, 2, 40, 1] repeated for a batch of 3
        EnqueueCase c{"BatchTilePlugin_TRT", {}, {{3, 3, 8, 8}, {1, 2, 40, 1}}, {}, {}};
        c.data.resize(2);
        fill(c, 0, -1.0f, 1.0f);
        fill(c, 1, 0.0f, 1.0f);
        std::vector<float> out(3 * 2 * 40);
        taostream_batch_tile(3, 2 * 40 * 4, c.data[1].data(), out.data());
        c.expected = {bytesOf(out)};
        cases.push_back(c);
    }
    for (char const* name : {"CropAndResize", "CropAndResizeDynamic"}) {
        // 2 images, 6 channels on 12x20, 30 rois (some outside, some ending on the edge), 5x3 crops
        EnqueueCase c{name, {ints("crop_width", {3}), ints("crop_height", {5})}, {{2, 6, 12, 20}, {2, 30, 4, 1}}, {}, {}};
        c.data.resize(2);
        fill(c, 0, -1.0f, 1.0f);
        for (int i = 0; i < 2 * 30; ++i) {
            const float y = rng.uniform(-0.2f, 0.9f), x = rng.uniform(-0.2f, 0.9f);
            c.data[1].insert(c.data[1].end(), {y, x, i % 5 == 0 ? 1.0f : y + rng.uniform(0.0f, 0.5f),
                                               i % 7 == 0 ? 1.0f : x + rng.uniform(0.0f, 0.5f)});
        }
        std::vector<float> out(2 * 30 * 6 * 5 * 3);
        taostream_crop_and_resize(2, 6, 12, 20, 30, 5, 3, c.data[0].data(), c.data[1].data(), out.data());
        c.expected = {bytesOf(out)};
        cases.push_back(c);
    }
    for (float scale : {2.0f, 1.5f}) {  // 2 images, 4 channels, 13x21
        EnqueueCase c{"ResizeNearest_TRT", {reals("scale", {scale})}, {{2, 4, 13, 21}}, {}, {}};
        c.data.resize(1);
        fill(c, 0, -1.0f, 1.0f);
        const int64_t outH = taostream_resize_nearest_output_size(13, scale);
        const int64_t outW = taostream_resize_nearest_output_size(21, scale);
        std::vector<float> out(2 * 4 * outH * outW);
        taostream_resize_nearest(8, 13, 21, scale, 4, c.data[0].data(), out.data());
        c.expected = {bytesOf(out)};
        cases.push_back(c);
    }
    {  // MultilevelCropAndResize #2: 2 images at 512x640, 3 channels, pooled 14, rois on every level P2..P6
       // (sides 8 to the whole image), some past the image or empty (not valid: zeros), maps one row and
       // column short of the image's pyramid (centres clamped to the last row and column)
        const std::vector<int64_t> sizes[5] = {{127, 159}, {63, 79}, {31, 39}, {15, 19}, {7, 9}};
        EnqueueCase c{"MultilevelCropAndResize_TRT", {ints("pooled_size", {14}), ints("image_size", {3, 512, 640})},
                      {{2, 48, 4}}, {}, {}};
        for (auto const& hw : sizes) c.inputs.push_back({2, 3, hw[0], hw[1]});
        c.data.resize(6);
        for (int64_t i = 0; i < 2 * 48; ++i) {
            const float side = 8.0f * std::pow(80.0f, static_cast<float>(i % 16) / 15.0f);  // 8 .. 640
            const float h = std::min(side, 512.0f);
            const float y1 = rng.uniform(0.0f, 512.0f - h) - (i % 13 == 7 ? 6.0f : 0.0f);  // past the top
            const float x1 = rng.uniform(0.0f, 640.0f - side);
            c.data[0].insert(c.data[0].end(), {y1, x1, i % 11 == 5 ? y1 : y1 + h, x1 + side});  // empty
        }
        const float* features[5];
        int32_t heights[5], widths[5];
        for (int l = 0; l < 5; ++l) {
            fill(c, 1 + l, -1.0f, 1.0f);
            features[l] = c.data[1 + l].data();
            heights[l] = static_cast<int32_t>(sizes[l][0]);
            widths[l] = static_cast<int32_t>(sizes[l][1]);
        }
        std::vector<float> out(2 * 48 * 3 * 14 * 14);
        taostream_multilevel_crop_and_resize(2, 48, 3, 14, 512, 640, c.data[0].data(), features, heights, widths,
                                             out.data());
        c.expected = {bytesOf(out)};
        cases.push_back(c);
    }
    {  // GenerateDetection #2: 3 images, 100 rois, 5 classes, scores in quarters (equal keys across rois and
       // classes, ties in TopKGather), keep_topk 30; image 1 has a NaN delta (padding rows, one warning)
        EnqueueCase c{"GenerateDetection_TRT",
                      {ints("num_classes", {5}), ints("keep_topk", {30}), reals("score_threshold", {0.2f}),
                       reals("iou_threshold", {0.4f}), ints("image_size", {3, 256, 256})},
                      {{3, 100, 20, 1, 1}, {3, 100, 5, 1, 1}, {3, 100, 4}},
                      {},
                      {}};
        c.data.resize(3);
        fill(c, 0, -0.3f, 0.3f);
        fill(c, 1, 0.0f, 1.0f);
        for (float& v : c.data[1]) v = std::round(v * 4.0f) / 4.0f;
        pixelBoxes(rng, c.data[2], 300, 256);
        c.data[0][1 * 100 * 20 + 7] = std::nanf("");
        std::vector<float> detections(3 * 30 * 6, 0.0f);
        for (int image = 0; image < 3; ++image) {
            float* rows = detections.data() + image * 30 * 6;
            if (taostream_generate_detection(1, 100, 5, 30, 0.2f, 0.4f, 256, 256, c.data[0].data() + image * 100 * 20,
                                             c.data[1].data() + image * 100 * 5, c.data[2].data() + image * 100 * 4,
                                             rows) != TAOSTREAM_HOST_OK) {
                for (int r = 0; r < 30; ++r) rows[r * 6 + 4] = -1.0f;  // padding rows, as the plugin writes them
            }
        }
        c.expected = {bytesOf(detections)};
        cases.push_back(c);
    }
    return cases;
}

// One plugin's enqueue against its host outputs: "equal", or what differs.
std::string runEnqueue(IPluginCreatorV3One* creator, EnqueueCase const& c, cudaStream_t stream) {
    std::vector<PluginField> storage;
    PluginFieldCollection fc = collect(c.fields, storage);
    std::unique_ptr<IPluginV3> plugin(creator->createPlugin("layer", &fc, TensorRTPhase::kBUILD));
    if (!plugin) return "not created";
    auto* build = static_cast<IPluginV3OneBuild*>(plugin->getCapabilityInterface(PluginCapabilityType::kBUILD));
    auto* runtime = static_cast<IPluginV3OneRuntime*>(plugin->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    const int32_t nbInputs = static_cast<int32_t>(c.inputs.size()), nbOutputs = build->getNbOutputs();
    ConstantExprBuilder builder;
    builder.bind();
    std::vector<DimsExprs> inputExprs(nbInputs), outputExprs(nbOutputs);
    for (int32_t i = 0; i < nbInputs; ++i) {
        inputExprs[i].nbDims = static_cast<int32_t>(c.inputs[i].size());
        for (size_t k = 0; k < c.inputs[i].size(); ++k) inputExprs[i].d[k] = builder.constant(c.inputs[i][k]);
    }
    if (build->getOutputShapes(inputExprs.data(), nbInputs, nullptr, 0, outputExprs.data(), nbOutputs, builder) != 0) {
        return "getOutputShapes failed";
    }
    std::vector<DataType> inputTypes(nbInputs, DataType::kFLOAT), outputTypes(nbOutputs);
    build->getOutputDataTypes(outputTypes.data(), nbOutputs, inputTypes.data(), nbInputs);
    std::vector<PluginTensorDesc> inDesc(nbInputs), outDesc(nbOutputs);
    std::vector<DynamicPluginTensorDesc> inDynamic(nbInputs), outDynamic(nbOutputs);
    for (int32_t i = 0; i < nbInputs; ++i) {
        inDesc[i].dims = dims(c.inputs[i]);
        inDesc[i].type = DataType::kFLOAT;
        inDesc[i].format = TensorFormat::kLINEAR;
        inDynamic[i].desc = inDesc[i];
        inDynamic[i].min = inDynamic[i].max = inDynamic[i].opt = inDesc[i].dims;
    }
    std::vector<std::vector<int64_t>> outputShapes(nbOutputs);
    for (int32_t o = 0; o < nbOutputs; ++o) {
        for (int32_t k = 0; k < outputExprs[o].nbDims; ++k) outputShapes[o].push_back(outputExprs[o].d[k]->getConstantValue());
        outDesc[o].dims = dims(outputShapes[o]);
        outDesc[o].type = outputTypes[o];
        outDesc[o].format = TensorFormat::kLINEAR;
        outDynamic[o].desc = outDesc[o];
        outDynamic[o].min = outDynamic[o].max = outDynamic[o].opt = outDesc[o].dims;
    }
    if (build->configurePlugin(inDynamic.data(), nbInputs, outDynamic.data(), nbOutputs) != 0) {
        return "configurePlugin refused the inputs";
    }
    const size_t workspaceBytes = build->getWorkspaceSize(inDynamic.data(), nbInputs, outDynamic.data(), nbOutputs);
    // as an engine runs it: the plugin created again from its serialized fields (kRUNTIME), attached to a
    // context (a clone), told the shapes, then enqueued
    std::unique_ptr<IPluginV3> restored(
        creator->createPlugin("layer", runtime->getFieldsToSerialize(), TensorRTPhase::kRUNTIME));
    if (!restored) return "not created again from its serialized fields";
    std::unique_ptr<IPluginV3> attached(
        static_cast<IPluginV3OneRuntime*>(restored->getCapabilityInterface(PluginCapabilityType::kRUNTIME))
            ->attachToContext(nullptr));
    if (!attached) return "attachToContext failed";
    runtime = static_cast<IPluginV3OneRuntime*>(attached->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
    if (runtime->onShapeChange(inDesc.data(), nbInputs, outDesc.data(), nbOutputs) != 0) {
        return "onShapeChange refused the inputs";
    }
    std::vector<void*> inputs(nbInputs), outputs(nbOutputs);
    void* workspace = nullptr;
    for (int32_t i = 0; i < nbInputs; ++i) {
        cudaMalloc(&inputs[i], c.data[i].size() * sizeof(float));
        cudaMemcpy(inputs[i], c.data[i].data(), c.data[i].size() * sizeof(float), cudaMemcpyHostToDevice);
    }
    for (int32_t o = 0; o < nbOutputs; ++o) {
        cudaMalloc(&outputs[o], count(outputShapes[o]) * 4);
        cudaMemset(outputs[o], 0xFF, count(outputShapes[o]) * 4);  // every byte must be written
    }
    if (workspaceBytes) cudaMalloc(&workspace, workspaceBytes);
    const int32_t status = runtime->enqueue(inDesc.data(), outDesc.data(), inputs.data(), outputs.data(), workspace,
                                            stream);
    cudaStreamSynchronize(stream);
    std::string verdict = status == 0 ? "equal" : "enqueue returned " + std::to_string(status);
    for (int32_t o = 0; status == 0 && o < nbOutputs; ++o) {
        std::vector<char> got(count(outputShapes[o]) * 4);
        cudaMemcpy(got.data(), outputs[o], got.size(), cudaMemcpyDeviceToHost);
        if (got.size() != c.expected[o].size()) {
            verdict = "output " + std::to_string(o) + " has " + std::to_string(got.size()) + " bytes, the host " +
                      std::to_string(c.expected[o].size());
        } else if (std::memcmp(got.data(), c.expected[o].data(), got.size()) != 0) {
            size_t first = 0;
            while (got[first] == c.expected[o][first]) ++first;
            verdict = "output " + std::to_string(o) + " differs from the host's from byte " + std::to_string(first);
        }
        if (verdict != "equal") break;
    }
    for (void* p : inputs) cudaFree(p);
    for (void* p : outputs) cudaFree(p);
    if (workspace) cudaFree(workspace);
    return verdict;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) IPluginRegistry* getPluginRegistry() noexcept { return &gRegistry; }
extern "C" __attribute__((visibility("default"))) int32_t getInferLibMajorVersion() noexcept { return gMajor; }
extern "C" __attribute__((visibility("default"))) ILogger* getLogger() noexcept { return &gLogger; }

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s LIBRARY [--builtin NAME]... [--major N]\n", argv[0]);
        return 2;
    }
    std::vector<std::unique_ptr<BuiltinCreator>> builtins;
    bool enqueue = false;
    for (int i = 2; i < argc; ++i) {
        if (std::strcmp(argv[i], "--enqueue") == 0) {
            enqueue = true;
            continue;
        }
        if (i + 1 >= argc) break;
        if (std::strcmp(argv[i], "--builtin") == 0) {
            builtins.push_back(std::make_unique<BuiltinCreator>(argv[i + 1]));
            gRegistry.registerCreator(static_cast<IPluginCreatorInterface&>(*builtins.back()), "");
        } else if (std::strcmp(argv[i], "--major") == 0) {
            gMajor = std::atoi(argv[i + 1]);
        }
        ++i;
    }
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        std::fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    std::string out = "{\"headers\": " + quoted(std::to_string(NV_TENSORRT_MAJOR) + "." +
                                                  std::to_string(NV_TENSORRT_MINOR) + "." +
                                                  std::to_string(NV_TENSORRT_PATCH));
    out += ", \"registered_at_load\": " + list(gRegistry.names());
    auto setLoggerFinder = reinterpret_cast<void (*)(ILoggerFinder*)>(dlsym(library, "setLoggerFinder"));
    auto getCreators = reinterpret_cast<IPluginCreatorInterface* const* (*)(int32_t&)>(dlsym(library, "getCreators"));
    if (setLoggerFinder == nullptr || getCreators == nullptr) {
        std::fprintf(stderr, "the library does not export setLoggerFinder and getCreators\n");
        return 1;
    }
    int32_t count = 0;
    IPluginCreatorInterface* const* creators = getCreators(count);
    std::vector<std::string> offered;
    std::map<std::string, IPluginCreatorV3One*> byName;
    for (int32_t i = 0; i < count; ++i) {
        auto* v3 = dynamic_cast<IPluginCreatorV3One*>(creators[i]);
        if (v3 == nullptr) {
            offered.push_back(quoted(std::string("not IPluginCreatorV3One: ") + creators[i]->getInterfaceInfo().kind));
            continue;
        }
        offered.push_back(quoted(std::string(v3->getPluginName()) + " " + v3->getPluginVersion() + " " +
                                 v3->getPluginNamespace()));
        byName[v3->getPluginName()] = v3;
    }
    out += ", \"registered_after_getCreators\": " + list(gRegistry.names());
    std::vector<std::string> lookups;
    for (std::string const& name : gRegistry.lookups) lookups.push_back(quoted(name));
    out += ", \"getCreator_calls\": " + list(lookups);
    out += ", \"getCreators\": " + list(offered);
    std::vector<std::string> fieldLists;
    for (auto const& entry : byName) {
        PluginFieldCollection const* names = entry.second->getFieldNames();
        std::vector<std::string> fields;
        for (int32_t f = 0; f < names->nbFields; ++f) {
            fields.push_back(list({quoted(names->fields[f].name),
                                   std::to_string(static_cast<int32_t>(names->fields[f].type)),
                                   std::to_string(names->fields[f].length)}));
        }
        fieldLists.push_back(quoted(entry.first) + ": " + list(fields));
    }
    out += ", \"field_names\": {";
    for (size_t i = 0; i < fieldLists.size(); ++i) out += (i ? ", " : "") + fieldLists[i];
    out += "}, \"cases\": [";
    bool first = true;
    for (Case const& c : cases()) {
        auto found = byName.find(c.plugin);
        std::string result = found == byName.end() ? "{\"created\": null}" : drive(found->second, c);
        out += std::string(first ? "" : ", ") + "{\"plugin\": " + quoted(c.plugin) + ", \"result\": " + result + "}";
        first = false;
    }
    out += "]";
    if (enqueue) {
        int devices = 0;
        if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
            out += ", \"enqueue\": null";
        } else {
            cudaStream_t stream;
            cudaStreamCreate(&stream);
            std::vector<std::string> verdicts;
            std::map<std::string, int> seen;  // a plugin's second case is "<name> #2"
            for (EnqueueCase const& c : enqueueCases()) {
                auto found = byName.find(c.plugin);
                const int n = ++seen[c.plugin];
                verdicts.push_back(quoted(n == 1 ? c.plugin : c.plugin + " #" + std::to_string(n)) + ": " +
                                   quoted(found == byName.end() ? "no creator" : runEnqueue(found->second, c, stream)));
            }
            cudaStreamDestroy(stream);
            out += ", \"enqueue\": {";
            for (size_t i = 0; i < verdicts.size(); ++i) out += (i ? ", " : "") + verdicts[i];
            out += "}";
        }
    }
    out += ", \"log\": " + list(gLog) + "}";
    std::printf("%s\n", out.c_str());
    return 0;
}
