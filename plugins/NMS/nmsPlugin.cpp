// NMS_TRT and NMSDynamic_TRT (version 1) as an IPluginV3, under TensorRT OSS's names, version and
// fields (plugin/nmsPlugin). Device-resident: the box decode, the confidence sigmoid, the per-class NMS
// (../common/perClassNmsDevice.cu) and the output rows run on the GPU (nmsKernels.cu), with no host copy
// and no wait; their host emulation equals the host implementation byte for byte
// (tests/test_plugin_device_emulation.py), but they have never run on a GPU. Where the workspace
// holds only the decoded boxes and scores (the GPU NMS cannot take the shapes), the per-class sort and
// greedy NMS run on the host (nmsDetections.h, the code of the host implementation) and enqueue waits
// for its stream. See README.md.
#include <cmath>
#include <string>
#include <vector>

#include "../common/devicePath.h"
#include "../common/nonFiniteWatch.h"
#include "../common/perClassNmsDevice.h"
#include "../common/trtPlugin.h"
#include "nmsDetections.h"
#include "nmsKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;

std::vector<FieldSpec> const* nmsFields() {
    static const std::vector<FieldSpec> specs = {
        {"shareLocation", PluginFieldType::kINT32, 1, false, {1}},
        {"varianceEncodedInTarget", PluginFieldType::kINT32, 1, false, {0}},
        {"backgroundLabelId", PluginFieldType::kINT32, 1, false, {0}},
        {"numClasses", PluginFieldType::kINT32, 1, true, {0}},
        {"topK", PluginFieldType::kINT32, 1, true, {0}},
        {"keepTopK", PluginFieldType::kINT32, 1, true, {0}},
        {"confidenceThreshold", PluginFieldType::kFLOAT32, 1, false, {0.0}},
        {"nmsThreshold", PluginFieldType::kFLOAT32, 1, false, {0.5}},
        {"inputOrder", PluginFieldType::kINT32, 3, false, {0, 2, 1}},
        {"confSigmoid", PluginFieldType::kINT32, 1, false, {0}},
        {"isNormalized", PluginFieldType::kINT32, 1, false, {1}},
        {"codeType", PluginFieldType::kINT32, 1, false, {3}},
        {"scoreBits", PluginFieldType::kINT32, 1, false, {16}},
        {"isBatchAgnostic", PluginFieldType::kINT32, 1, false, {1}},
    };
    return &specs;
}

class NmsPlugin final : public ClonablePlugin<NmsPlugin> {
public:
    NmsPlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 3, {DataType::kFLOAT, DataType::kINT32}) {
        for (int i = 0; i < 3; ++i) mOrder[i] = mFields.integer("inputOrder", i);
    }

    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if (nbInputs != 3 || nbOutputs != 2) return -1;
        auto const* batch = inputs[mOrder[0]].d[0];
        outputs[0].nbDims = 4;  // [N, 1, keepTopK, 7]
        outputs[0].d[0] = batch;
        outputs[0].d[1] = exprBuilder.constant(1);
        outputs[0].d[2] = exprBuilder.constant(mFields.integer("keepTopK"));
        outputs[0].d[3] = exprBuilder.constant(7);
        outputs[1].nbDims = 4;  // [N, 1, 1, 1]
        outputs[1].d[0] = batch;
        outputs[1].d[1] = exprBuilder.constant(1);
        outputs[1].d[2] = exprBuilder.constant(1);
        outputs[1].d[3] = exprBuilder.constant(1);
        return 0;
    }

    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
                            nvinfer1::DynamicPluginTensorDesc const*, int32_t) const noexcept override {
        if (nbInputs != 3) return 0;
        // decoded boxes, then the scores after the sigmoid, then the per-class NMS's (when it takes the
        // largest shapes; enqueue's per-class NMS runs on the GPU only then: useDevicePath)
        const size_t decoded = decodedBytes(volume(inputs[mOrder[0]].max), volume(inputs[mOrder[1]].max));
        return decoded + largestWorkspaceBytes(inputs, nbInputs) + 256;
    }

protected:
    // The per-class NMS's part of the workspace (after the decoded boxes and scores).
    size_t deviceWorkspaceBytes(nvinfer1::Dims const* dims) const override {
        return nms::perClassNmsWorkspaceSize(shape(dims[mOrder[0]].d[0], dims[mOrder[2]]));
    }

    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        nvinfer1::Dims const& loc = dims[mOrder[0]];
        nvinfer1::Dims const& conf = dims[mOrder[1]];
        nvinfer1::Dims const& priors = dims[mOrder[2]];
        if (priors.nbDims < 3 || priors.d[1] != 2 || volume(priors, 2) % 4 != 0) {
            return "priors must be [1 or N, 2, numPriors * 4, 1]";
        }
        const int64_t numPriors = volume(priors, 2) / 4;
        const int64_t batch = loc.d[0];
        if (conf.d[0] != batch || (priors.d[0] != 1 && priors.d[0] != batch)) {
            return "loc, conf and priors disagree on the batch size";
        }
        if (volume(loc, 1) != numPriors * locClasses() * 4) {
            return "loc has " + std::to_string(volume(loc, 1)) + " values per image, expected numPriors (" +
                   std::to_string(numPriors) + ") x " + std::to_string(locClasses()) + " x 4";
        }
        if (volume(conf, 1) != numPriors * mFields.integer("numClasses")) {
            return "conf has " + std::to_string(volume(conf, 1)) + " values per image, expected numPriors (" +
                   std::to_string(numPriors) + ") x numClasses (" + std::to_string(mFields.integer("numClasses")) +
                   ")";
        }
        return {};
    }

private:
    int32_t locClasses() const { return mFields.integer("shareLocation") ? 1 : mFields.integer("numClasses"); }

    // The decoded boxes and sigmoid scores, rounded up to 256 bytes (the per-class NMS's part follows).
    static size_t decodedBytes(int64_t locValues, int64_t confValues) {
        return static_cast<size_t>((locValues + confValues) * sizeof(float) + 255) / 256 * 256;
    }

    // The per-class NMS's shapes and fields for `batch` images and priors of these dims.
    nms::PerClassShape shape(int64_t batch, nvinfer1::Dims const& priors) const {
        return nms::PerClassShape{device::narrowDim(batch),
                                  device::narrowDim(volume(priors, 2) / 4),
                                  mFields.integer("numClasses"),
                                  locClasses(),
                                  mFields.integer("shareLocation") != 0,
                                  mFields.integer("backgroundLabelId"),
                                  mFields.integer("topK"),
                                  mFields.real("confidenceThreshold"),
                                  mFields.real("nmsThreshold"),
                                  mFields.integer("isNormalized") != 0,
                                  true};
    }

    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* workspace, cudaStream_t stream) override {
        const auto* loc = static_cast<const float*>(inputs[mOrder[0]]);
        const auto* conf = static_cast<const float*>(inputs[mOrder[1]]);
        const auto* priors = static_cast<const float*>(inputs[mOrder[2]]);
        const int32_t batch = static_cast<int32_t>(inputDesc[mOrder[0]].dims.d[0]);
        const int32_t priorBatch = static_cast<int32_t>(inputDesc[mOrder[2]].dims.d[0]);
        const int64_t numPriors = volume(inputDesc[mOrder[2]].dims, 2) / 4;
        const int32_t numClasses = mFields.integer("numClasses");
        const int32_t cl = locClasses();
        const int32_t keepTopK = mFields.integer("keepTopK");
        const int64_t boxValues = numPriors * cl * 4;
        const int64_t scoreValues = numPriors * numClasses;

        auto* boxes = static_cast<float*>(workspace);
        const float* scores = conf;
        for (int32_t image = 0; image < batch; ++image) {
            const float* imagePriors = priors + (priorBatch == 1 ? 0 : int64_t{image} * 2 * numPriors * 4);
            const int status = taostream_ssd_decode_cuda(numPriors, cl, loc + image * boxValues, imagePriors,
                                                         mFields.integer("codeType"),
                                                         mFields.integer("varianceEncodedInTarget"),
                                                         boxes + image * boxValues, stream);
            if (status != 0) return launched(status, "box decode");
        }
        if (mFields.integer("confSigmoid")) {
            float* sigmoid = boxes + batch * boxValues;
            const int status = taostream_sigmoid_cuda(batch * scoreValues, conf, sigmoid, stream);
            if (status != 0) return launched(status, "sigmoid");
            scores = sigmoid;
        }
        const nms::PerClassShape s = shape(batch, inputDesc[mOrder[2]].dims);
        if (useDevicePath(inputDesc, workspace)) {
            void* nmsWorkspace = static_cast<char*>(workspace) + decodedBytes(batch * boxValues, batch * scoreValues);
            const int32_t* nonFinite = nullptr;
            const int status = nms::nmsDevice(s, keepTopK, boxes, scores, nmsWorkspace, stream,
                                              static_cast<float*>(outputs[0]), static_cast<int32_t*>(outputs[1]),
                                              &nonFinite);
            if (status != 0) return launched(status, "per-class NMS");
            return mNonFinite.watch(mName, nonFinite, batch, stream) ? 0 : -1;
        }
        // the GPU NMS cannot take these shapes: the per-class NMS on the host
        if (!toHost(boxes, batch * boxValues * sizeof(float), mHostBoxes, stream) ||
            !toHost(scores, batch * scoreValues * sizeof(float), mHostScores, stream) ||
            !finish(stream, "decode")) {
            return -1;
        }

        const nms::PerClassFields fields{static_cast<int32_t>(numPriors),
                                         cl,
                                         numClasses,
                                         mFields.integer("shareLocation") != 0,
                                         mFields.integer("backgroundLabelId"),
                                         mFields.integer("topK"),
                                         keepTopK,
                                         mFields.real("confidenceThreshold"),
                                         mFields.real("nmsThreshold"),
                                         mFields.integer("isNormalized") != 0,
                                         true};
        mDetections.assign(static_cast<size_t>(batch) * keepTopK * 7, 0.0f);
        mCounts.assign(static_cast<size_t>(batch), 0);
        const auto* hostBoxes = reinterpret_cast<const float*>(mHostBoxes.data());
        const auto* hostScores = reinterpret_cast<const float*>(mHostScores.data());
        for (int32_t image = 0; image < batch; ++image) {
            const float* imageBoxes = hostBoxes + image * boxValues;
            const float* imageScores = hostScores + image * scoreValues;
            float* rows = mDetections.data() + int64_t{image} * keepTopK * 7;
            if (!nms::allFinite(imageBoxes, boxValues) || !nms::allFinite(imageScores, scoreValues)) {
                // no order exists among NaN scores: the image gets no detections, as said once
                warnNonFinite();
                for (int64_t r = 0; r < keepTopK; ++r) {
                    rows[r * 7] = static_cast<float>(image);
                    rows[r * 7 + 1] = -1.0f;
                }
                continue;
            }
            mCounts[image] = nms::writeNmsDetections(image, imageBoxes, imageScores, fields, rows);
        }
        return copyOutputs(outputs, {hostBuffer(mDetections), hostBuffer(mCounts)}, "the detections", stream);
    }

    int32_t mOrder[3]{0, 2, 1};
    NonFiniteWatch mNonFinite;
    std::vector<char> mHostBoxes, mHostScores;
    std::vector<float> mDetections;
    std::vector<int32_t> mCounts;
};

nvinfer1::IPluginV3* makeNms(char const* name, FieldValues const& fields, char const* ns) {
    const int32_t numClasses = fields.integer("numClasses"), topK = fields.integer("topK");
    const int32_t keepTopK = fields.integer("keepTopK"), codeType = fields.integer("codeType");
    std::string problem;
    int32_t seen = 0;
    for (int i = 0; i < 3; ++i) {
        const int32_t position = fields.integer("inputOrder", i);
        if (position >= 0 && position < 3) seen |= 1 << position;
    }
    if (numClasses <= 0 || topK <= 0 || keepTopK <= 0) {
        problem = "numClasses, topK and keepTopK must be positive";
    } else if (keepTopK > topK) {
        problem = "keepTopK (" + std::to_string(keepTopK) + ") must be <= topK (" + std::to_string(topK) + ")";
    } else if (codeType < 0 || codeType > 3) {
        problem = "codeType must be 0 (CORNER), 1 (CENTER_SIZE), 2 (CORNER_SIZE) or 3 (TF_CENTER)";
    } else if (seen != 7) {
        problem = "inputOrder must be a permutation of 0, 1, 2";
    }
    if (!problem.empty()) return refuse(name, problem);
    return new NmsPlugin(name, fields, ns);
}

}  // namespace

PluginCreator* nmsCreator() {
    static PluginCreator creator("NMS_TRT", "1", nmsFields(), makeNms);
    return &creator;
}

PluginCreator* nmsDynamicCreator() {
    static PluginCreator creator("NMSDynamic_TRT", "1", nmsFields(), makeNms);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
