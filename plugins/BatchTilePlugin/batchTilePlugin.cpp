// BatchTilePlugin_TRT (version 1) as an IPluginV3, under TensorRT OSS's name and version
// (plugin/batchTilePlugin; no fields). enqueue launches the whole-op kernel (batchTileKernels.cu) on
// its stream: input 1's first item repeated input 0's batch size times. No host staging, no wait.
// See README.md.
#include <string>
#include <vector>

#include "../common/trtPlugin.h"
#include "batchTileKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;

std::vector<FieldSpec> const* batchTileFields() {
    static const std::vector<FieldSpec> specs = {};
    return &specs;
}

class BatchTilePlugin final : public ClonablePlugin<BatchTilePlugin> {
public:
    BatchTilePlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 2, {DataType::kFLOAT}) {}

    // [N, ...] and [1, C, H, W] -> [N, C, H, W]
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder&) noexcept override {
        if (nbInputs != 2 || nbOutputs != 1 || inputs[0].nbDims < 1 || inputs[1].nbDims < 1) return -1;
        outputs[0] = inputs[1];
        outputs[0].d[0] = inputs[0].d[0];
        return 0;
    }

protected:
    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        if (dims[0].nbDims < 1) return "input 0 must have a batch axis";
        if (dims[1].nbDims < 1 || dims[1].d[0] < 1) return "input 1 must hold at least one item to repeat";
        return {};
    }

private:
    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* /*workspace*/, cudaStream_t stream) override {
        const int64_t batch = inputDesc[0].dims.d[0];
        const int64_t itemBytes = volume(inputDesc[1].dims, 1) * static_cast<int64_t>(sizeof(float));
        const int status = taostream_batch_tile_cuda(batch, itemBytes, inputs[1], outputs[0], stream);
        return launched(status);
    }
};

nvinfer1::IPluginV3* makeBatchTile(char const* name, FieldValues const& fields, char const* ns) {
    return new BatchTilePlugin(name, fields, ns);
}

}  // namespace

PluginCreator* batchTileCreator() {
    static PluginCreator creator("BatchTilePlugin_TRT", "1", batchTileFields(), makeBatchTile);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
