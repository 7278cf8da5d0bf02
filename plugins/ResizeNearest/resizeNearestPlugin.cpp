// ResizeNearest_TRT (version 1) as an IPluginV3, under TensorRT OSS's name, version and field
// (plugin/resizeNearestPlugin: `scale`, float32). enqueue launches the whole-op kernel
// (resizeNearestKernels.cu) on its stream; the output sizes and source indices are the reference's
// float32 operations (common/copyIndex.h, shared with the host implementation). No host staging, no
// wait. See README.md.
#include <cmath>
#include <string>
#include <vector>

#include "../common/copyIndex.h"
#include "../common/trtPlugin.h"
#include "resizeNearestKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;
namespace cp = taostream::copy;

std::vector<FieldSpec> const* resizeNearestFields() {
    static const std::vector<FieldSpec> specs = {
        {"scale", PluginFieldType::kFLOAT32, 1, true, {0.0}},
    };
    return &specs;
}

class ResizeNearestPlugin final : public ClonablePlugin<ResizeNearestPlugin> {
public:
    ResizeNearestPlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 1, {DataType::kFLOAT}), mScale(mFields.real("scale")) {}

    // [..., H, W] -> [..., int(float32(H) * scale), int(float32(W) * scale)]
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if (nbInputs != 1 || nbOutputs != 1 || inputs[0].nbDims < 2) return -1;
        outputs[0] = inputs[0];
        for (int32_t axis = inputs[0].nbDims - 2; axis < inputs[0].nbDims; ++axis) {
            outputs[0].d[axis] = scaled(inputs[0].d[axis], exprBuilder);
            if (outputs[0].d[axis] == nullptr) return -1;
        }
        return 0;
    }

protected:
    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        nvinfer1::Dims const& in = dims[0];
        if (in.nbDims < 2) return "the input must have at least 2 axes (H, W last)";
        for (int32_t axis = in.nbDims - 2; axis < in.nbDims; ++axis) {
            const int64_t out = cp::resizeNearestOutputSize(in.d[axis], mScale);
            if (out < 0) return "scale " + std::to_string(mScale) + " gives no size for an axis of " + std::to_string(in.d[axis]);
            if (out > 0 && cp::resizeNearestSource(out - 1, mScale) >= in.d[axis]) {
                return "scale " + std::to_string(mScale) + " reads past an axis of " + std::to_string(in.d[axis]);
            }
        }
        return {};
    }

private:
    // The output size of an axis: computed where the input size is known; for a dynamic axis only an
    // integer scale has an exact expression (H x scale).
    nvinfer1::IDimensionExpr const* scaled(nvinfer1::IDimensionExpr const* size, nvinfer1::IExprBuilder& builder) const {
        if (size == nullptr) return nullptr;
        if (size->isConstant()) {
            const int64_t out = cp::resizeNearestOutputSize(size->getConstantValue(), mScale);
            return out < 0 ? nullptr : builder.constant(out);
        }
        if (mScale >= 1.0f && std::floor(mScale) == mScale && mScale < 65536.0f) {
            return builder.operation(nvinfer1::DimensionOperation::kPROD, *size,
                                     *builder.constant(static_cast<int64_t>(mScale)));
        }
        log(nvinfer1::ILogger::Severity::kERROR,
            mName + ": a dynamic H or W needs an integer scale (got " + std::to_string(mScale) +
                "); give the input fixed H and W");
        return nullptr;
    }

    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* /*workspace*/, cudaStream_t stream) override {
        nvinfer1::Dims const& in = inputDesc[0].dims;
        const int64_t height = in.d[in.nbDims - 2], width = in.d[in.nbDims - 1];
        const int64_t planes = volume(in) / (height * width == 0 ? 1 : height * width);
        const int status = taostream_resize_nearest_cuda(planes, height, width, mScale,
                                                         static_cast<const float*>(inputs[0]),
                                                         static_cast<float*>(outputs[0]), stream);
        if (status != 0) {
            log(nvinfer1::ILogger::Severity::kERROR,
                mName + ": kernel launch failed: " +
                    (status < 0 ? std::string("no output size") : cudaGetErrorString(static_cast<cudaError_t>(status))));
            return -1;
        }
        return 0;
    }

    float mScale;
};

nvinfer1::IPluginV3* makeResizeNearest(char const* name, FieldValues const& fields, char const* ns) {
    const float scale = fields.real("scale");
    if (!(scale > 0.0f) || !std::isfinite(scale)) {
        return refuse(name, "scale must be a positive number, got " + std::to_string(scale));
    }
    return new ResizeNearestPlugin(name, fields, ns);
}

}  // namespace

PluginCreator* resizeNearestCreator() {
    static PluginCreator creator("ResizeNearest_TRT", "1", resizeNearestFields(), makeResizeNearest);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
