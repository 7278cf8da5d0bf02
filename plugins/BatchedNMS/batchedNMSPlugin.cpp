// BatchedNMS_TRT and BatchedNMSDynamic_TRT (version 1) as an IPluginV3, under TensorRT OSS's names,
// version and fields (plugin/batchedNMSPlugin). Device-resident: enqueue queues the GPU path
// (batchedNMSKernels.cu: the per-class NMS of ../common/perClassNmsDevice.cu and the output rows) on its
// stream, with no host copy and no wait; its host emulation equals the host implementation byte for byte
// (tests/test_plugin_device_emulation.py), but it has never run on a GPU. Host-staged fallback (inputs
// copied to the host, the host implementation per image, outputs copied back, the stream waited for)
// only where no workspace was given. See README.md.
#include <string>
#include <vector>

#include "../common/devicePath.h"
#include "../common/nonFiniteWatch.h"
#include "../common/perClassNmsDevice.h"
#include "../common/trtPlugin.h"
#include "batchedNMSHost.h"
#include "batchedNMSKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;

std::vector<FieldSpec> const* batchedNmsFields() {
    static const std::vector<FieldSpec> specs = {
        {"shareLocation", PluginFieldType::kINT32, 1, true, {1}},
        {"backgroundLabelId", PluginFieldType::kINT32, 1, true, {-1}},
        {"numClasses", PluginFieldType::kINT32, 1, true, {0}},
        {"topK", PluginFieldType::kINT32, 1, true, {0}},
        {"keepTopK", PluginFieldType::kINT32, 1, true, {0}},
        {"scoreThreshold", PluginFieldType::kFLOAT32, 1, true, {0.0}},
        {"iouThreshold", PluginFieldType::kFLOAT32, 1, true, {0.5}},
        {"isNormalized", PluginFieldType::kINT32, 1, false, {1}},
        {"clipBoxes", PluginFieldType::kINT32, 1, false, {1}},
        {"scoreBits", PluginFieldType::kINT32, 1, false, {16}},
        {"caffeSemantics", PluginFieldType::kINT32, 1, false, {1}},
    };
    return &specs;
}

class BatchedNmsPlugin final : public ClonablePlugin<BatchedNmsPlugin> {
public:
    BatchedNmsPlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 2, {DataType::kINT32, DataType::kFLOAT, DataType::kFLOAT, DataType::kFLOAT}),
          mStatic(std::string(name) == "BatchedNMS_TRT") {}

    // num_detections [N] (BatchedNMS_TRT, as TAO's graphs declare it) or [N, 1]; nmsed_boxes [N, K, 4];
    // nmsed_scores and nmsed_classes [N, K].
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if (nbInputs != 2 || nbOutputs != 4) return -1;
        auto const* batch = inputs[0].d[0];
        auto const* keep = exprBuilder.constant(mFields.integer("keepTopK"));
        outputs[0].nbDims = mStatic ? 1 : 2;
        outputs[0].d[0] = batch;
        if (!mStatic) outputs[0].d[1] = exprBuilder.constant(1);
        outputs[1].nbDims = 3;
        outputs[1].d[0] = batch;
        outputs[1].d[1] = keep;
        outputs[1].d[2] = exprBuilder.constant(4);
        for (int i = 2; i < 4; ++i) {
            outputs[i].nbDims = 2;
            outputs[i].d[0] = batch;
            outputs[i].d[1] = keep;
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
    size_t deviceWorkspaceBytes(nvinfer1::Dims const* dims) const override {
        return nms::perClassNmsWorkspaceSize(shape(dims[1]));
    }

    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        const int32_t numClasses = mFields.integer("numClasses");
        if (dims[0].d[0] != dims[1].d[0]) return "boxes and scores disagree on the batch size";
        if (volume(dims[1], 1) % numClasses != 0) {
            return "scores must be [N, numBoxes, numClasses (" + std::to_string(numClasses) + ")]";
        }
        const int64_t numBoxes = volume(dims[1], 1) / numClasses;
        if (volume(dims[0], 1) != numBoxes * locClasses() * 4) {
            return "boxes must be [N, numBoxes (" + std::to_string(numBoxes) + "), " +
                   std::to_string(locClasses()) + ", 4] for these scores and shareLocation";
        }
        return {};
    }

private:
    int32_t locClasses() const { return mFields.integer("shareLocation") ? 1 : mFields.integer("numClasses"); }

    // The per-class NMS's shapes and fields for scores of these dims ([N, numBoxes, numClasses]).
    nms::PerClassShape shape(nvinfer1::Dims const& scores) const {
        const int32_t numClasses = mFields.integer("numClasses");
        return nms::PerClassShape{device::narrowDim(scores.d[0]),
                                  device::narrowDim(volume(scores, 1) / numClasses),
                                  numClasses,
                                  locClasses(),
                                  mFields.integer("shareLocation") != 0,
                                  mFields.integer("backgroundLabelId"),
                                  mFields.integer("topK"),
                                  mFields.real("scoreThreshold"),
                                  mFields.real("iouThreshold"),
                                  mFields.integer("isNormalized") != 0,
                                  mFields.integer("caffeSemantics") != 0};
    }

    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* workspace, cudaStream_t stream) override {
        const nms::PerClassShape s = shape(inputDesc[1].dims);
        if (!useDevicePath(inputDesc, workspace)) {
            return runHostStaged(inputDesc, inputs, outputs, stream);
        }
        const int32_t* nonFinite = nullptr;
        const int status = nms::batchedNmsDevice(
            s, mFields.integer("keepTopK"), mFields.integer("clipBoxes") != 0, static_cast<const float*>(inputs[0]),
            static_cast<const float*>(inputs[1]), workspace, stream, static_cast<int32_t*>(outputs[0]),
            static_cast<float*>(outputs[1]), static_cast<float*>(outputs[2]), static_cast<float*>(outputs[3]),
            &nonFinite);
        if (launched(status) != 0) return -1;
        return mNonFinite.watch(mName, nonFinite, s.batch, stream) ? 0 : -1;
    }

    int32_t runHostStaged(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
                          void* const* outputs, cudaStream_t stream) {
        if (!stageInputs(inputDesc, inputs, stream)) return -1;
        const int32_t batch = static_cast<int32_t>(inputDesc[0].dims.d[0]);
        const int32_t numClasses = mFields.integer("numClasses");
        const int32_t numBoxes = static_cast<int32_t>(volume(inputDesc[1].dims, 1) / numClasses);
        const int32_t keep = mFields.integer("keepTopK");
        const int64_t boxValues = int64_t{numBoxes} * locClasses() * 4;
        const int64_t scoreValues = int64_t{numBoxes} * numClasses;
        mNum.assign(batch, 0);
        mBoxes.assign(static_cast<size_t>(batch) * keep * 4, 0.0f);
        mScores.assign(static_cast<size_t>(batch) * keep, 0.0f);
        mClasses.assign(static_cast<size_t>(batch) * keep, -1.0f);
        for (int32_t image = 0; image < batch; ++image) {
            const int status = taostream_batched_nms(
                1, numBoxes, numClasses, mFields.integer("shareLocation"), mFields.integer("backgroundLabelId"),
                mFields.integer("topK"), keep, mFields.real("scoreThreshold"), mFields.real("iouThreshold"),
                mFields.integer("isNormalized"), mFields.integer("caffeSemantics"), mFields.integer("clipBoxes"),
                staged(0) + image * boxValues, staged(1) + image * scoreValues, mNum.data() + image,
                mBoxes.data() + int64_t{image} * keep * 4, mScores.data() + int64_t{image} * keep,
                mClasses.data() + int64_t{image} * keep);
            if (status == TAOSTREAM_HOST_NON_FINITE) {
                warnNonFinite();  // the padding written above stays: no detections
                mNum[image] = 0;
            } else if (status != TAOSTREAM_HOST_OK) {
                log(nvinfer1::ILogger::Severity::kERROR, mName + ": the fields do not fit the inputs");
                return -1;
            }
        }
        return copyOutputs(outputs, {hostBuffer(mNum), hostBuffer(mBoxes), hostBuffer(mScores), hostBuffer(mClasses)},
                           "the detections", stream);
    }

    bool mStatic;
    NonFiniteWatch mNonFinite;
    std::vector<int32_t> mNum;
    std::vector<float> mBoxes, mScores, mClasses;
};

nvinfer1::IPluginV3* makeBatchedNms(char const* name, FieldValues const& fields, char const* ns) {
    const int32_t numClasses = fields.integer("numClasses"), topK = fields.integer("topK");
    const int32_t keepTopK = fields.integer("keepTopK");
    std::string problem;
    if (numClasses <= 0 || topK <= 0 || keepTopK <= 0) {
        problem = "numClasses, topK and keepTopK must be positive";
    } else if (keepTopK > topK) {
        problem = "keepTopK (" + std::to_string(keepTopK) + ") must be <= topK (" + std::to_string(topK) + ")";
    }
    if (!problem.empty()) return refuse(name, problem);
    return new BatchedNmsPlugin(name, fields, ns);
}

}  // namespace

PluginCreator* batchedNmsCreator() {
    static PluginCreator creator("BatchedNMS_TRT", "1", batchedNmsFields(), makeBatchedNms);
    return &creator;
}

PluginCreator* batchedNmsDynamicCreator() {
    static PluginCreator creator("BatchedNMSDynamic_TRT", "1", batchedNmsFields(), makeBatchedNms);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
