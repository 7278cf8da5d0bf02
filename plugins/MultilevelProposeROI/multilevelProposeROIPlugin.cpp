// MultilevelProposeROI_TRT (version 1) as an IPluginV3, under TensorRT OSS's name, version and fields
// (plugin/multilevelProposeROI). Device-resident: enqueue queues the whole op
// (multilevelProposeROIKernels.cu: per-level top-k by CUB segmented sort, anchor decode, refine sort,
// suppression words, greedy walk, TopKGather sort, the concatenated levels' final sort, roi rows) on its
// stream, with no host copy and no wait; its host emulation equals the host implementation
// (multilevelProposeROIHost.cpp, equal bit for bit to the numpy reference plugins/maskrcnn.py) byte for
// byte (tests/test_plugin_device_emulation.py), but it has never run on a GPU. Host-staged fallback (the
// ten inputs copied to the host, the host implementation per image, the rois copied back, the stream
// waited for) only where no workspace was given. See README.md.
#include <string>
#include <vector>

#include "../common/devicePath.h"
#include "../common/nonFiniteWatch.h"
#include "../common/trtPlugin.h"
#include "multilevelProposeROIHost.h"
#include "multilevelProposeROIKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;

constexpr int32_t kLevels = 5;          // P2..P6
constexpr int32_t kMaxPreNmsTopK = 4096;

std::vector<FieldSpec> const* proposeRoiFields() {
    static const std::vector<FieldSpec> specs = {
        {"prenms_topk", PluginFieldType::kINT32, 1, true, {0}},
        {"keep_topk", PluginFieldType::kINT32, 1, true, {0}},
        {"fg_threshold", PluginFieldType::kFLOAT32, 1, false, {0.0}},
        {"iou_threshold", PluginFieldType::kFLOAT32, 1, false, {0.7}},
        {"image_size", PluginFieldType::kINT32, 3, false, {3, 832, 1344}},
    };
    return &specs;
}

class ProposeRoiPlugin final : public ClonablePlugin<ProposeRoiPlugin> {
public:
    ProposeRoiPlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 2 * kLevels, {DataType::kFLOAT}) {
        taostream_mrcnn_level_anchor_counts(height(), width(), mAnchors);
    }

    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if (nbInputs != 2 * kLevels || nbOutputs != 1) return -1;
        outputs[0].nbDims = 3;  // [N, keep_topk, 4]
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = exprBuilder.constant(mFields.integer("keep_topk"));
        outputs[0].d[2] = exprBuilder.constant(4);
        return 0;
    }

    // The GPU path's workspace for the largest batch (0 where it cannot take it: then enqueue runs
    // host-staged).
    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
                            nvinfer1::DynamicPluginTensorDesc const*, int32_t) const noexcept override {
        return largestWorkspaceBytes(inputs, nbInputs);
    }

protected:
    size_t deviceWorkspaceBytes(nvinfer1::Dims const* dims) const override {
        if (dims[0].nbDims < 1) return 0;
        return mrcnn::proposeRoiWorkspaceSize(shape(device::narrowDim(dims[0].d[0])));
    }

protected:
    // Input 2l: delta P(l+2) [N, A_l, 4, 1]; input 2l+1: score P(l+2) [N, A_l, 1, 1]; A_l from image_size.
    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        for (int32_t l = 0; l < kLevels; ++l) {
            nvinfer1::Dims const& delta = dims[2 * l];
            nvinfer1::Dims const& score = dims[2 * l + 1];
            if (delta.d[0] != dims[0].d[0] || score.d[0] != dims[0].d[0]) return "the inputs disagree on the batch size";
            if (volume(delta, 1) != mAnchors[l] * 4 || volume(score, 1) != mAnchors[l]) {
                return "level P" + std::to_string(l + 2) + " has " + std::to_string(volume(score, 1)) + " scores and " +
                       std::to_string(volume(delta, 1)) + " delta values per image; image_size " +
                       std::to_string(height()) + "x" + std::to_string(width()) + " gives " +
                       std::to_string(mAnchors[l]) + " anchors (x4 deltas)";
            }
        }
        return {};
    }

private:
    int32_t height() const { return mFields.integer("image_size", 1); }
    int32_t width() const { return mFields.integer("image_size", 2); }

    mrcnn::ProposeRoiShape shape(int32_t batch) const {
        return mrcnn::proposeRoiShape(batch, height(), width(), mFields.integer("prenms_topk"),
                                      mFields.integer("keep_topk"), mFields.real("fg_threshold"),
                                      mFields.real("iou_threshold"));
    }

    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* workspace, cudaStream_t stream) override {
        const mrcnn::ProposeRoiShape s = shape(device::narrowDim(inputDesc[0].dims.d[0]));
        if (!useDevicePath(inputDesc, workspace)) {
            return runHostStaged(inputDesc, inputs, outputs, stream);
        }
        mrcnn::ProposeRoiInputs in{};
        for (int32_t l = 0; l < kLevels; ++l) {
            in.deltas[l] = static_cast<const float*>(inputs[2 * l]);
            in.scores[l] = static_cast<const float*>(inputs[2 * l + 1]);
        }
        const int32_t* invalid = nullptr;
        const int status = mrcnn::proposeRoiDevice(s, in, workspace, stream, static_cast<float*>(outputs[0]), &invalid);
        if (launched(status) != 0) return -1;
        return mNonFinite.watch(mName, invalid, s.batch, stream) ? 0 : -1;
    }

    int32_t runHostStaged(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
                          void* const* outputs, cudaStream_t stream) {
        if (!stageInputs(inputDesc, inputs, stream)) return -1;
        const int32_t batch = static_cast<int32_t>(inputDesc[0].dims.d[0]);
        const int32_t keep = mFields.integer("keep_topk");
        mRois.assign(static_cast<size_t>(batch) * keep * 4, 0.0f);
        for (int32_t image = 0; image < batch; ++image) {
            const float* deltas[kLevels];
            const float* scores[kLevels];
            for (int32_t l = 0; l < kLevels; ++l) {
                deltas[l] = staged(2 * l) + image * mAnchors[l] * 4;
                scores[l] = staged(2 * l + 1) + image * mAnchors[l];
            }
            const int status = taostream_multilevel_propose_roi(
                1, height(), width(), mFields.integer("prenms_topk"), keep, mFields.real("fg_threshold"),
                mFields.real("iou_threshold"), deltas, scores, mAnchors, mRois.data() + int64_t{image} * keep * 4);
            if (status == TAOSTREAM_HOST_NON_FINITE) {
                warnNonFinite();  // zero rois for this image
            } else if (status != TAOSTREAM_HOST_OK) {
                log(nvinfer1::ILogger::Severity::kERROR, mName + ": the fields do not fit the inputs");
                return -1;
            }
        }
        return copyOutputs(outputs, {hostBuffer(mRois)}, "the rois", stream);
    }

    NonFiniteWatch mNonFinite;
    int64_t mAnchors[kLevels]{};
    std::vector<float> mRois;
};

nvinfer1::IPluginV3* makeProposeRoi(char const* name, FieldValues const& fields, char const* ns) {
    const int32_t prenms = fields.integer("prenms_topk"), keep = fields.integer("keep_topk");
    std::string problem;
    if (prenms <= 0 || prenms > kMaxPreNmsTopK) {
        problem = "prenms_topk must be in 1.." + std::to_string(kMaxPreNmsTopK);
    } else if (keep <= 0) {
        problem = "keep_topk must be positive";
    } else if (fields.integer("image_size", 1) <= 0 || fields.integer("image_size", 2) <= 0) {
        problem = "image_size must be C, H, W with positive H and W";
    } else if (fields.real("fg_threshold") < 0 || fields.real("iou_threshold") < 0) {
        problem = "fg_threshold and iou_threshold must be >= 0";
    }
    if (!problem.empty()) return refuse(name, problem);
    return new ProposeRoiPlugin(name, fields, ns);
}

}  // namespace

PluginCreator* multilevelProposeRoiCreator() {
    static PluginCreator creator("MultilevelProposeROI_TRT", "1", proposeRoiFields(), makeProposeRoi);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
