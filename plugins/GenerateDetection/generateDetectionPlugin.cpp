// GenerateDetection_TRT (version 1) as an IPluginV3, under TensorRT OSS's name, version and fields
// (plugin/generateDetectionPlugin). enqueue queues the whole op on its stream (generateDetectionKernels.cu:
// argmax + decode, CUB sort, suppression words and walk, CUB sort, rows; the steps the host emulation
// runs), no copy, no wait; NaN/inf images are flagged on the device and warned by a stream host function
// (common/nonFiniteWatch). Host-staged (the inputs copied to the host, the host implementation
// generateDetectionHost.cpp per image, the detections copied back, a stream wait) only without a
// workspace or for shapes the GPU path cannot take. See README.md.
#include <string>
#include <vector>

#include "../common/devicePath.h"
#include "../common/nonFiniteWatch.h"
#include "../common/trtPlugin.h"
#include "generateDetectionHost.h"
#include "generateDetectionKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;

constexpr int64_t kMaxRois = 2048;

std::vector<FieldSpec> const* generateDetectionFields() {
    static const std::vector<FieldSpec> specs = {
        {"num_classes", PluginFieldType::kINT32, 1, true, {0}},
        {"keep_topk", PluginFieldType::kINT32, 1, true, {0}},
        {"score_threshold", PluginFieldType::kFLOAT32, 1, false, {0.0}},
        {"iou_threshold", PluginFieldType::kFLOAT32, 1, false, {0.5}},
        {"image_size", PluginFieldType::kINT32, 3, false, {3, 832, 1344}},
    };
    return &specs;
}

class GenerateDetectionPlugin final : public ClonablePlugin<GenerateDetectionPlugin> {
public:
    GenerateDetectionPlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 3, {DataType::kFLOAT}) {}

    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if (nbInputs != 3 || nbOutputs != 1) return -1;
        outputs[0].nbDims = 3;  // [N, keep_topk, 6]
        outputs[0].d[0] = inputs[2].d[0];
        outputs[0].d[1] = exprBuilder.constant(mFields.integer("keep_topk"));
        outputs[0].d[2] = exprBuilder.constant(6);
        return 0;
    }


    // The GPU path's workspace for the largest shapes (0 where it cannot take them: then enqueue runs
    // host-staged, whatever the actual shapes).
    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
                            nvinfer1::DynamicPluginTensorDesc const*, int32_t) const noexcept override {
        return largestWorkspaceBytes(inputs, nbInputs);
    }

protected:
    size_t deviceWorkspaceBytes(nvinfer1::Dims const* dims) const override {
        if (dims[2].nbDims < 2) return 0;
        return gendet::generateDetectionWorkspaceSize(shape(dims[2]));
    }

    // deltas [N, R, 4 x num_classes, 1, 1], scores [N, R, num_classes, 1, 1], rois [N, R, 4].
    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        const int64_t classes = mFields.integer("num_classes");
        if (volume(dims[2], 1) % 4 != 0) return "rois must be [N, R, 4]";
        const int64_t rois = volume(dims[2], 1) / 4;
        if (rois > kMaxRois) return "at most " + std::to_string(kMaxRois) + " rois per image, got " + std::to_string(rois);
        if (dims[0].d[0] != dims[2].d[0] || dims[1].d[0] != dims[2].d[0]) return "the inputs disagree on the batch size";
        if (volume(dims[0], 1) != rois * classes * 4 || volume(dims[1], 1) != rois * classes) {
            return "deltas and scores must hold R (" + std::to_string(rois) + ") x num_classes (" +
                   std::to_string(classes) + ") x 4 and x 1 values per image";
        }
        return {};
    }

private:
    gendet::DetectionShape shape(nvinfer1::Dims const& rois) const {
        return gendet::DetectionShape{device::narrowDim(rois.d[0]), device::narrowDim(volume(rois, 1) / 4),
                                      mFields.integer("num_classes"), mFields.integer("keep_topk"),
                                      mFields.real("score_threshold"), mFields.real("iou_threshold"),
                                      taostream_generate_detection_clip(), mFields.integer("image_size", 1),
                                      mFields.integer("image_size", 2)};
    }

    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* workspace, cudaStream_t stream) override {
        const gendet::DetectionShape s = shape(inputDesc[2].dims);
        if (!useDevicePath(inputDesc, workspace)) {
            return runHostStaged(inputDesc, inputs, outputs, stream);
        }
        const int32_t* invalid = nullptr;
        const int status = gendet::generateDetectionDevice(
            s, static_cast<const float*>(inputs[0]), static_cast<const float*>(inputs[1]),
            static_cast<const float*>(inputs[2]), workspace, stream, static_cast<float*>(outputs[0]), &invalid);
        if (launched(status) != 0) return -1;
        return mNonFinite.watch(mName, invalid, s.batch, stream) ? 0 : -1;
    }

    int32_t runHostStaged(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
                          void* const* outputs, cudaStream_t stream) {
        if (!stageInputs(inputDesc, inputs, stream)) return -1;
        const int32_t batch = static_cast<int32_t>(inputDesc[2].dims.d[0]);
        const int32_t rois = static_cast<int32_t>(volume(inputDesc[2].dims, 1) / 4);
        const int32_t classes = mFields.integer("num_classes");
        const int32_t keep = mFields.integer("keep_topk");
        mDetections.assign(static_cast<size_t>(batch) * keep * 6, 0.0f);
        for (int32_t image = 0; image < batch; ++image) {
            float* rows = mDetections.data() + int64_t{image} * keep * 6;
            const int status = taostream_generate_detection(
                1, rois, classes, keep, mFields.real("score_threshold"), mFields.real("iou_threshold"),
                mFields.integer("image_size", 1), mFields.integer("image_size", 2),
                staged(0) + int64_t{image} * rois * classes * 4, staged(1) + int64_t{image} * rois * classes,
                staged(2) + int64_t{image} * rois * 4, rows);
            if (status == TAOSTREAM_HOST_NON_FINITE) {
                warnNonFinite();
                for (int32_t r = 0; r < keep; ++r) rows[r * 6 + 4] = -1.0f;  // padding rows: class -1
            } else if (status != TAOSTREAM_HOST_OK) {
                log(nvinfer1::ILogger::Severity::kERROR, mName + ": the fields do not fit the inputs");
                return -1;
            }
        }
        return copyOutputs(outputs, {hostBuffer(mDetections)}, "the detections", stream);
    }

    std::vector<float> mDetections;
    NonFiniteWatch mNonFinite;
};

nvinfer1::IPluginV3* makeGenerateDetection(char const* name, FieldValues const& fields, char const* ns) {
    std::string problem;
    if (fields.integer("num_classes") < 2) {
        problem = "num_classes must be >= 2 (background included)";
    } else if (fields.integer("keep_topk") <= 0) {
        problem = "keep_topk must be positive";
    } else if (fields.integer("image_size", 1) <= 0 || fields.integer("image_size", 2) <= 0) {
        problem = "image_size must be C, H, W with positive H and W";
    }
    if (!problem.empty()) return refuse(name, problem);
    return new GenerateDetectionPlugin(name, fields, ns);
}

}  // namespace

PluginCreator* generateDetectionCreator() {
    static PluginCreator creator("GenerateDetection_TRT", "1", generateDetectionFields(), makeGenerateDetection);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
