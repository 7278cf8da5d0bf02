// EfficientNMS_TRT (version 1) as an IPluginV3, under TensorRT OSS's name, version, fields and defaults
// (plugin/efficientNMSPlugin; TensorRT 10 and 11 still ship their own, deprecated, which stays in charge
// where it is registered). Device-resident: enqueue queues the whole op (efficientNMSKernels.cu: keys,
// CUB sort, decode, suppression words, greedy walk, output rows) on its stream, with no host copy and no
// wait; its host emulation equals the host implementation (efficientNMSHost.cpp, equal bit for bit to
// the numpy reference plugins/reference.py efficient_nms_reference) byte for byte
// (tests/test_plugin_device_emulation.py), but it has never run on a GPU. Host-staged fallback (inputs
// copied to the host, the host implementation per image, outputs copied back, the stream waited for)
// only where no workspace was given. See README.md.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../common/devicePath.h"
#include "../common/nonFiniteWatch.h"
#include "../common/trtPlugin.h"
#include "efficientNMSHost.h"
#include "efficientNMSKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;

// At most this many candidates per image reach NMS (plugins/reference.py EFFICIENT_NMS_SELECTED_BOXES).
constexpr int32_t kMaxCandidates = 5000;

// TensorRT OSS's creator: every field optional, defaults of its EfficientNMSParameters.
std::vector<FieldSpec> const* efficientNmsFields() {
    static const std::vector<FieldSpec> specs = {
        {"score_threshold", PluginFieldType::kFLOAT32, 1, false, {0.5}},
        {"iou_threshold", PluginFieldType::kFLOAT32, 1, false, {0.5}},
        {"max_output_boxes", PluginFieldType::kINT32, 1, false, {100}},
        {"background_class", PluginFieldType::kINT32, 1, false, {-1}},
        {"score_activation", PluginFieldType::kINT32, 1, false, {0}},
        {"class_agnostic", PluginFieldType::kINT32, 1, false, {0}},
        {"box_coding", PluginFieldType::kINT32, 1, false, {0}},
    };
    return &specs;
}

class EfficientNmsPlugin final : public ClonablePlugin<EfficientNmsPlugin> {
public:
    EfficientNmsPlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 2, {DataType::kINT32, DataType::kFLOAT, DataType::kFLOAT, DataType::kINT32}) {}

    // boxes, scores and, for the fused box decoder, anchors: 2 or 3 inputs, known once configured.
    int32_t configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
                            nvinfer1::DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept override {
        if (nbInputs == 2 || nbInputs == 3) mNbInputs = nbInputs;
        return PluginBase::configurePlugin(in, nbInputs, out, nbOutputs);
    }
    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs, nvinfer1::PluginTensorDesc const* out,
                          int32_t nbOutputs) noexcept override {
        if (nbInputs == 2 || nbInputs == 3) mNbInputs = nbInputs;
        return PluginBase::onShapeChange(in, nbInputs, out, nbOutputs);
    }

    // num_detections [N, 1], detection_boxes [N, K, 4], detection_scores [N, K], detection_classes [N, K].
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if ((nbInputs != 2 && nbInputs != 3) || nbOutputs != 4 || inputs[1].nbDims < 1) return -1;
        auto const* batch = inputs[1].d[0];
        auto const* keep = exprBuilder.constant(mFields.integer("max_output_boxes"));
        outputs[0].nbDims = 2;
        outputs[0].d[0] = batch;
        outputs[0].d[1] = exprBuilder.constant(1);
        outputs[1].nbDims = 3;
        outputs[1].d[0] = batch;
        outputs[1].d[1] = keep;
        outputs[1].d[2] = exprBuilder.constant(4);
        for (int32_t o : {2, 3}) {
            outputs[o].nbDims = 2;
            outputs[o].d[0] = batch;
            outputs[o].d[1] = keep;
        }
        return 0;
    }

    // The GPU path's workspace for the largest shapes (0 where it cannot take them: then enqueue runs
    // host-staged).
    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
                            nvinfer1::DynamicPluginTensorDesc const*, int32_t) const noexcept override {
        return largestWorkspaceBytes(inputs, nbInputs);
    }

protected:
    // (the layout depends on the scores' dims only: the boxes' class count and the anchors' batch are 1, 0)
    size_t deviceWorkspaceBytes(nvinfer1::Dims const* dims) const override {
        if (dims[1].nbDims != 3) return 0;
        return efficient::efficientNmsWorkspaceSize(shape(dims[1], 1, 0));
    }

protected:
    // boxes [N, B, 4] or [N, B, 1 or C, 4], scores [N, B, C], anchors [1 or N, B, 4].
    std::string checkInputs(nvinfer1::Dims const* dims, int32_t nbInputs) const override {
        nvinfer1::Dims const& scores = dims[1];
        if (scores.nbDims != 3) return "scores must be [N, B, C]";
        const int64_t batch = scores.d[0], count = scores.d[1], classes = scores.d[2];
        const int64_t boxValues = volume(dims[0], 1);
        if (dims[0].nbDims < 3 || dims[0].d[0] != batch || dims[0].d[1] != count ||
            (boxValues != count * 4 && boxValues != count * classes * 4)) {
            return "boxes must be [N, B, 4] or [N, B, C, 4] for scores [" + std::to_string(batch) + ", " +
                   std::to_string(count) + ", " + std::to_string(classes) + "]";
        }
        if (nbInputs == 3 && ((dims[2].d[0] != 1 && dims[2].d[0] != batch) || dims[2].nbDims < 2 ||
                              volume(dims[2], 1) != count * 4)) {
            return "anchors must be [1 or N, B, 4] with B = " + std::to_string(count);
        }
        return {};
    }

private:
    // The raw-score threshold (EfficientNmsParameters.sort_threshold of the reference: the logit of
    // score_threshold under score_activation, its quotient in float32, the log in double, rounded).
    float sortThreshold() const {
        const float t = mFields.real("score_threshold");
        if (mFields.integer("score_activation") == 0) return t;
        if (t <= 0.0f) return -32768.0f;
        return static_cast<float>(std::log(static_cast<double>(t / (1.0f - t))));
    }

    // The GPU path's shapes and fields for scores of these dims ([N, B, C]).
    efficient::EfficientShape shape(nvinfer1::Dims const& scores, int32_t boxClasses, int32_t anchorBatch) const {
        return efficient::EfficientShape{device::narrowDim(scores.d[0]),
                                         device::narrowDim(scores.d[1]),
                                         device::narrowDim(scores.d[2]),
                                         boxClasses,
                                         anchorBatch,
                                         mFields.integer("box_coding"),
                                         mFields.integer("background_class"),
                                         mFields.integer("class_agnostic") != 0,
                                         mFields.integer("score_activation") != 0,
                                         sortThreshold(),
                                         mFields.real("iou_threshold"),
                                         mFields.integer("max_output_boxes"),
                                         kMaxCandidates};
    }

    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* workspace, cudaStream_t stream) override {
        nvinfer1::Dims const& scoreDims = inputDesc[1].dims;
        const int64_t count = scoreDims.d[1];
        const int32_t boxClasses = count == 0 ? 1 : static_cast<int32_t>(volume(inputDesc[0].dims, 1) / (count * 4));
        const efficient::EfficientShape s =
            shape(scoreDims, boxClasses, mNbInputs == 3 ? static_cast<int32_t>(inputDesc[2].dims.d[0]) : 0);
        if (!useDevicePath(inputDesc, workspace)) {
            return runHostStaged(inputDesc, inputs, outputs, stream);
        }
        const int32_t* invalid = nullptr;
        const int status = efficient::efficientNmsDevice(
            s, static_cast<const float*>(inputs[0]), static_cast<const float*>(inputs[1]),
            mNbInputs == 3 ? static_cast<const float*>(inputs[2]) : nullptr, workspace, stream,
            static_cast<int32_t*>(outputs[0]), static_cast<float*>(outputs[1]), static_cast<float*>(outputs[2]),
            static_cast<int32_t*>(outputs[3]), &invalid);
        if (launched(status) != 0) return -1;
        return mNonFinite.watch(mName, invalid, s.batch, stream) ? 0 : -1;
    }

    int32_t runHostStaged(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
                          void* const* outputs, cudaStream_t stream) {
        if (!stageInputs(inputDesc, inputs, stream)) return -1;
        nvinfer1::Dims const& scoreDims = inputDesc[1].dims;
        const int32_t batch = static_cast<int32_t>(scoreDims.d[0]);
        const int32_t count = static_cast<int32_t>(scoreDims.d[1]), classes = static_cast<int32_t>(scoreDims.d[2]);
        const int32_t boxClasses = static_cast<int32_t>(volume(inputDesc[0].dims, 1) / (int64_t{count} * 4));
        const int32_t anchorBatch = mNbInputs == 3 ? static_cast<int32_t>(inputDesc[2].dims.d[0]) : 0;
        const int32_t keep = mFields.integer("max_output_boxes");
        mNum.assign(batch, 0);
        mBoxes.assign(static_cast<size_t>(batch) * keep * 4, 0.0f);
        mScores.assign(static_cast<size_t>(batch) * keep, 0.0f);
        mClasses.assign(static_cast<size_t>(batch) * keep, 0);
        for (int32_t image = 0; image < batch; ++image) {
            const float* anchors = nullptr;
            if (anchorBatch > 0) anchors = staged(2) + (anchorBatch == 1 ? 0 : int64_t{image} * count * 4);
            const int status = taostream_efficient_nms(
                1, count, classes, boxClasses, anchorBatch > 0 ? 1 : 0, mFields.integer("box_coding"),
                mFields.integer("background_class"), mFields.integer("class_agnostic") != 0,
                mFields.integer("score_activation") != 0, sortThreshold(), mFields.real("iou_threshold"), keep,
                kMaxCandidates, staged(0) + int64_t{image} * count * boxClasses * 4,
                staged(1) + int64_t{image} * count * classes, anchors, mNum.data() + image,
                mBoxes.data() + int64_t{image} * keep * 4, mScores.data() + int64_t{image} * keep,
                mClasses.data() + int64_t{image} * keep);
            if (status == TAOSTREAM_HOST_NON_FINITE) {
                warnNonFinite();  // no detections for this image
                mNum[image] = 0;
                std::fill_n(mBoxes.begin() + int64_t{image} * keep * 4, int64_t{keep} * 4, 0.0f);
                std::fill_n(mScores.begin() + int64_t{image} * keep, keep, 0.0f);
                std::fill_n(mClasses.begin() + int64_t{image} * keep, keep, 0);
            } else if (status != TAOSTREAM_HOST_OK) {
                log(nvinfer1::ILogger::Severity::kERROR, mName + ": the fields do not fit the inputs");
                return -1;
            }
        }
        return copyOutputs(outputs, {hostBuffer(mNum), hostBuffer(mBoxes), hostBuffer(mScores), hostBuffer(mClasses)},
                           "the detections", stream);
    }

    NonFiniteWatch mNonFinite;
    std::vector<int32_t> mNum, mClasses;
    std::vector<float> mBoxes, mScores;
};

nvinfer1::IPluginV3* makeEfficientNms(char const* name, FieldValues const& fields, char const* ns) {
    std::string problem;
    const int32_t coding = fields.integer("box_coding");
    if (coding != 0 && coding != 1) {
        problem = "box_coding " + std::to_string(coding) + " is not 0 (corners) or 1 (centre-size)";
    } else if (fields.integer("max_output_boxes") <= 0) {
        problem = "max_output_boxes must be positive";
    }
    if (!problem.empty()) return refuse(name, problem);
    return new EfficientNmsPlugin(name, fields, ns);
}

}  // namespace

PluginCreator* efficientNmsCreator() {
    static PluginCreator creator("EfficientNMS_TRT", "1", efficientNmsFields(), makeEfficientNms);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
