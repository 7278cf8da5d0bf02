// SpecialSlice_TRT (version 1) as an IPluginV3, under TensorRT OSS's name and version
// (plugin/specialSlicePlugin; no fields). The whole op runs on the GPU: enqueue launches the kernel of
// specialSliceKernels.cu (one thread per box value, the index maths of common/copyIndex.h that the host
// implementation uses too) on the plugin's stream and does not wait for it. See README.md.
#include <string>
#include <vector>

#include "../common/trtPlugin.h"

extern "C" int taostream_special_slice_cuda(int64_t rows, const float* detections, float* boxes,
                                            cudaStream_t stream);  // specialSliceKernels.cu

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;

std::vector<FieldSpec> const* specialSliceFields() {
    static const std::vector<FieldSpec> specs;  // TensorRT OSS's creator declares none
    return &specs;
}

class SpecialSlicePlugin final : public ClonablePlugin<SpecialSlicePlugin> {
public:
    SpecialSlicePlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 1, {DataType::kFLOAT}) {}

    // detections [..., 6] -> boxes [..., 4] (MaskRCNN: [N, K, 6] -> [N, K, 4]).
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if (nbInputs != 1 || nbOutputs != 1 || inputs[0].nbDims < 1) return -1;
        outputs[0] = inputs[0];
        outputs[0].d[inputs[0].nbDims - 1] = exprBuilder.constant(4);
        return 0;
    }

protected:
    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        if (dims[0].nbDims < 2 || dims[0].d[dims[0].nbDims - 1] != 6) {
            return "detections must be [N, K, 6] (y1, x1, y2, x2, class, score per row), got a last dimension of " +
                   std::to_string(dims[0].nbDims ? dims[0].d[dims[0].nbDims - 1] : 0);
        }
        return {};
    }

private:
    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* /*workspace*/, cudaStream_t stream) override {
        const int64_t rows = volume(inputDesc[0].dims) / 6;
        const int status = taostream_special_slice_cuda(rows, static_cast<const float*>(inputs[0]),
                                                        static_cast<float*>(outputs[0]), stream);
        return launched(status);
    }
};

nvinfer1::IPluginV3* makeSpecialSlice(char const* name, FieldValues const& fields, char const* ns) {
    return new SpecialSlicePlugin(name, fields, ns);
}

}  // namespace

PluginCreator* specialSliceCreator() {
    static PluginCreator creator("SpecialSlice_TRT", "1", specialSliceFields(), makeSpecialSlice);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
