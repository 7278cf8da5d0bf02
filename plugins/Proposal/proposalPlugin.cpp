// Proposal and ProposalDynamic (version 1) as IPluginV3s, under TensorRT OSS's names, version and
// fields (plugin/proposalPlugin; TensorRT 11 removed both). Device-resident: enqueue queues the whole op
// (proposalKernels.cu: anchor decode with the sort keys, CUB segmented sort, the candidates' boxes,
// +1-pixel IoU suppression words, greedy walk, roi rows) on its stream, with no host copy and no wait;
// its host emulation equals the host implementation (proposalHost.cpp, equal bit for bit to the numpy
// reference plugins/frcnn.py proposal_reference) byte for byte (tests/test_plugin_device_emulation.py),
// but it has never run on a GPU. Host-staged fallback (inputs copied to the host, the host
// implementation per image, rois copied back, the stream waited for) only where no workspace was given
// or the shapes pass the GPU path's limits. See README.md.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../common/devicePath.h"
#include "../common/nonFiniteWatch.h"
#include "../common/trtPlugin.h"
#include "proposalHost.h"
#include "proposalKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;

// TensorRT OSS's creator declares every field with length 1 (anchor_sizes and anchor_ratios take any
// number of values) and has no defaults; roi_min_size defaults to 0 as in the numpy reference.
std::vector<FieldSpec> const* proposalFields() {
    static const std::vector<FieldSpec> specs = {
        {"input_height", PluginFieldType::kINT32, 1, true, {0}},
        {"input_width", PluginFieldType::kINT32, 1, true, {0}},
        {"rpn_stride", PluginFieldType::kINT32, 1, true, {0}},
        {"roi_min_size", PluginFieldType::kFLOAT32, 1, false, {0.0}},
        {"nms_iou_threshold", PluginFieldType::kFLOAT32, 1, true, {0.0}},
        {"pre_nms_top_n", PluginFieldType::kINT32, 1, true, {0}},
        {"post_nms_top_n", PluginFieldType::kINT32, 1, true, {0}},
        {"anchor_sizes", PluginFieldType::kFLOAT32, 1, true, {0.0}, true},
        {"anchor_ratios", PluginFieldType::kFLOAT32, 1, true, {0.0}, true},
    };
    return &specs;
}

class ProposalPlugin final : public ClonablePlugin<ProposalPlugin> {
public:
    ProposalPlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 2, {DataType::kFLOAT}) {}

    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if (nbInputs != 2 || nbOutputs != 1 || inputs[0].nbDims < 1) return -1;
        outputs[0].nbDims = 4;  // [N, post_nms_top_n, 4, 1]
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = exprBuilder.constant(mFields.integer("post_nms_top_n"));
        outputs[0].d[2] = exprBuilder.constant(4);
        outputs[0].d[3] = exprBuilder.constant(1);
        return 0;
    }

    // The GPU path's workspace for the largest shapes (0 where it cannot take them: then enqueue runs
    // host-staged).
    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
                            nvinfer1::DynamicPluginTensorDesc const*, int32_t) const noexcept override {
        return largestWorkspaceBytes(inputs, nbInputs);
    }

protected:
    size_t deviceWorkspaceBytes(nvinfer1::Dims const* dims) const override {
        if (dims[0].nbDims != 4) return 0;
        return frcnn::proposalWorkspaceSize(shape(dims[0]));
    }

protected:
    // scores [N, A, H, W], deltas [N, 4A, H, W]; A = len(anchor_sizes) x len(anchor_ratios).
    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        if (dims[0].nbDims != 4 || dims[1].nbDims != 4) return "scores and deltas must be [N, A, H, W] and [N, 4A, H, W]";
        const int64_t anchors = int64_t{mFields.count("anchor_sizes")} * mFields.count("anchor_ratios");
        if (dims[0].d[1] != anchors) {
            return "scores have " + std::to_string(dims[0].d[1]) + " anchors per cell; anchor_sizes x anchor_ratios give " +
                   std::to_string(anchors);
        }
        if (dims[1].d[1] != 4 * anchors) {
            return "deltas have " + std::to_string(dims[1].d[1]) + " channels, expected 4 x " + std::to_string(anchors);
        }
        if (dims[0].d[0] != dims[1].d[0] || dims[0].d[2] != dims[1].d[2] || dims[0].d[3] != dims[1].d[3]) {
            return "scores and deltas disagree on the batch size or the RPN grid";
        }
        return {};
    }

private:
    // The GPU path's shapes and fields for scores of these dims ([N, A, H, W]).
    frcnn::ProposalShape shape(nvinfer1::Dims const& scores) const {
        frcnn::ProposalShape s{device::narrowDim(scores.d[0]),
                               device::narrowDim(scores.d[1]),
                               device::narrowDim(scores.d[2]),
                               device::narrowDim(scores.d[3]),
                               mFields.integer("rpn_stride"),
                               static_cast<float>(mFields.integer("input_width") - 1),
                               static_cast<float>(mFields.integer("input_height") - 1),
                               mFields.real("roi_min_size"),
                               mFields.real("nms_iou_threshold"),
                               mFields.integer("pre_nms_top_n"),
                               mFields.integer("post_nms_top_n"),
                               mFields.count("anchor_sizes"),
                               mFields.count("anchor_ratios"),
                               {},
                               {}};
        if (s.numSizes > frcnn::kMaxAnchorParameters || s.numRatios > frcnn::kMaxAnchorParameters) {
            s.numSizes = s.numRatios = 0;  // the GPU path refuses these shapes
            return s;
        }
        for (int32_t i = 0; i < s.numSizes; ++i) s.sizes[i] = mFields.real("anchor_sizes", i);
        for (int32_t i = 0; i < s.numRatios; ++i) s.ratios[i] = mFields.real("anchor_ratios", i);
        return s;
    }

    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* workspace, cudaStream_t stream) override {
        const frcnn::ProposalShape s = shape(inputDesc[0].dims);
        if (!useDevicePath(inputDesc, workspace)) {
            return runHostStaged(inputDesc, inputs, outputs, stream);
        }
        const int32_t* invalid = nullptr;
        const int status = frcnn::proposalDevice(s, static_cast<const float*>(inputs[0]),
                                                 static_cast<const float*>(inputs[1]), workspace, stream,
                                                 static_cast<float*>(outputs[0]), &invalid);
        if (launched(status) != 0) return -1;
        return mNonFinite.watch(mName, invalid, s.batch, stream) ? 0 : -1;
    }

    int32_t runHostStaged(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
                          void* const* outputs, cudaStream_t stream) {
        if (!stageInputs(inputDesc, inputs, stream)) return -1;
        nvinfer1::Dims const& scores = inputDesc[0].dims;
        const int32_t batch = static_cast<int32_t>(scores.d[0]);
        const int32_t anchors = static_cast<int32_t>(scores.d[1]);
        const int32_t height = static_cast<int32_t>(scores.d[2]), width = static_cast<int32_t>(scores.d[3]);
        const int64_t cells = int64_t{anchors} * height * width;
        const int32_t post = mFields.integer("post_nms_top_n");
        std::vector<float> sizes, ratios;
        for (int32_t i = 0; i < mFields.count("anchor_sizes"); ++i) sizes.push_back(mFields.real("anchor_sizes", i));
        for (int32_t i = 0; i < mFields.count("anchor_ratios"); ++i) ratios.push_back(mFields.real("anchor_ratios", i));
        mRois.assign(static_cast<size_t>(batch) * post * 4, 0.0f);
        for (int32_t image = 0; image < batch; ++image) {
            float* rois = mRois.data() + int64_t{image} * post * 4;
            const int status = taostream_proposal(
                1, anchors, height, width, mFields.integer("input_height"), mFields.integer("input_width"),
                mFields.integer("rpn_stride"), mFields.real("roi_min_size"), mFields.real("nms_iou_threshold"),
                mFields.integer("pre_nms_top_n"), post, static_cast<int32_t>(sizes.size()), sizes.data(),
                static_cast<int32_t>(ratios.size()), ratios.data(), staged(0) + image * cells,
                staged(1) + image * cells * 4, rois);
            if (status == TAOSTREAM_HOST_NON_FINITE) {
                warnNonFinite();
                std::fill(rois, rois + int64_t{post} * 4, 0.0f);  // no rois for this image
            } else if (status != TAOSTREAM_HOST_OK) {
                log(nvinfer1::ILogger::Severity::kERROR, mName + ": the fields do not fit the inputs");
                return -1;
            }
        }
        return copyOutputs(outputs, {hostBuffer(mRois)}, "the rois", stream);
    }

    NonFiniteWatch mNonFinite;
    std::vector<float> mRois;
};

nvinfer1::IPluginV3* makeProposal(char const* name, FieldValues const& fields, char const* ns) {
    std::string problem;
    if (fields.integer("input_height") < 2 || fields.integer("input_width") < 2) {
        problem = "input_height and input_width must be >= 2 (the network input size)";
    } else if (fields.integer("rpn_stride") <= 0) {
        problem = "rpn_stride must be positive";
    } else if (!(fields.real("roi_min_size") >= 0.0f)) {
        problem = "roi_min_size must be >= 0";
    } else if (!(fields.real("nms_iou_threshold") > 0.0f)) {
        problem = "nms_iou_threshold must be positive";
    } else if (fields.integer("pre_nms_top_n") <= 0 || fields.integer("post_nms_top_n") <= 0) {
        problem = "pre_nms_top_n and post_nms_top_n must be positive";
    }
    for (char const* list : {"anchor_sizes", "anchor_ratios"}) {
        for (int32_t i = 0; problem.empty() && i < fields.count(list); ++i) {
            if (!(fields.real(list, i) > 0.0f)) problem = std::string(list) + " must hold positive values";
        }
    }
    if (!problem.empty()) return refuse(name, problem);
    return new ProposalPlugin(name, fields, ns);
}

}  // namespace

PluginCreator* proposalCreator() {
    static PluginCreator creator("Proposal", "1", proposalFields(), makeProposal);
    return &creator;
}

PluginCreator* proposalDynamicCreator() {
    static PluginCreator creator("ProposalDynamic", "1", proposalFields(), makeProposal);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
