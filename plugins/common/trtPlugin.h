// The IPluginV3 scaffolding every taostream TensorRT plugin shares: the plugin fields (parsed from a
// PluginFieldCollection under TensorRT OSS's names, types and defaults, and handed back for
// serialization), one base class carrying the core, build and runtime capabilities, and one creator
// class. Compiled against the TensorRT headers only: the library links no libnvinfer and finds the
// registry and logger of the process that loads it (pluginLibrary.cpp).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <NvInferRuntime.h>
#include <cuda_runtime_api.h>

namespace taostream {
namespace trt {

// Writes through the ILoggerFinder TensorRT handed over (setLoggerFinder), else libnvinfer's global
// logger, else stderr. Messages start with the plugin name.
void log(nvinfer1::ILogger::Severity severity, std::string const& message) noexcept;

// One field of a plugin as TensorRT OSS's creator declares it.
struct FieldSpec {
    char const* name;
    nvinfer1::PluginFieldType type;  // kINT32 or kFLOAT32
    int32_t length;
    bool required;
    std::vector<double> defaults;  // `length` values; used when an optional field is absent
    // Any number of values (at least one), as Proposal's anchor_sizes and anchor_ratios; `length` is then
    // only what getFieldNames declares (TensorRT OSS declares 1).
    bool anyLength{false};
};

// The values of a plugin's fields, in the order of its specs.
class FieldValues {
public:
    FieldValues() = default;
    explicit FieldValues(std::vector<FieldSpec> const* specs);
    FieldValues(FieldValues const& other);
    FieldValues& operator=(FieldValues const& other);

    // Reads `fc` (any order; unknown names are ignored as TensorRT OSS does; INT8/16/64 and FLOAT16/64
    // values are converted). False, after logging which field of which plugin and why, when a
    // required field is absent or a field has the wrong length or a type that is not a number.
    bool parse(nvinfer1::PluginFieldCollection const* fc, char const* pluginName);

    int32_t integer(char const* name, int32_t index = 0) const;
    float real(char const* name, int32_t index = 0) const;
    int32_t count(char const* name) const;  // how many values the field holds
    // The fields with their values, for getFieldsToSerialize (valid until this object changes).
    nvinfer1::PluginFieldCollection const* collection();

private:
    int32_t indexOf(char const* name) const;
    std::vector<FieldSpec> const* mSpecs{nullptr};
    std::vector<std::vector<int32_t>> mIntegers;
    std::vector<std::vector<float>> mReals;
    std::vector<nvinfer1::PluginField> mFields;
    nvinfer1::PluginFieldCollection mCollection{};
};

// The parts of an IPluginV3 that are the same for every taostream plugin: name, version, namespace,
// FP32 linear tensors, declared output types, no tactics, clone on attach, the fields serialized.
class PluginBase : public nvinfer1::IPluginV3,
                   public nvinfer1::IPluginV3OneCore,
                   public nvinfer1::IPluginV3OneBuild,
                   public nvinfer1::IPluginV3OneRuntime {
public:
    PluginBase(std::string name, std::string version, std::string pluginNamespace, FieldValues fields,
               int32_t nbInputs, std::vector<nvinfer1::DataType> outputTypes);
    ~PluginBase() override = default;

    // IPluginV3
    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override;
    // IPluginV3OneCore
    char const* getPluginName() const noexcept override { return mName.c_str(); }
    char const* getPluginVersion() const noexcept override { return mVersion.c_str(); }
    char const* getPluginNamespace() const noexcept override { return mNamespace.c_str(); }
    // IPluginV3OneBuild
    int32_t configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
                            nvinfer1::DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept override;
    int32_t getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs,
                               nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept override;
    bool supportsFormatCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
                                   int32_t nbOutputs) noexcept override;
    int32_t getNbOutputs() const noexcept override { return static_cast<int32_t>(mOutputTypes.size()); }
    // IPluginV3OneRuntime
    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs, nvinfer1::PluginTensorDesc const* out,
                          int32_t nbOutputs) noexcept override;
    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* context) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override;
    // Runs the plugin's `run`; what it throws is logged and returned as -1 (enqueue must not throw).
    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
                    void const* const* inputs, void* const* outputs, void* workspace,
                    cudaStream_t stream) noexcept override;

protected:
    // The plugin's work on `stream`: 0, or -1 with the reason logged.
    virtual int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
                        void* const* outputs, void* workspace, cudaStream_t stream) = 0;

    // Inputs checked for what the host code needs (their counts and sizes against the fields): a
    // message naming the tensor, or empty. Called by configurePlugin and onShapeChange.
    virtual std::string checkInputs(nvinfer1::Dims const* inputs, int32_t nbInputs) const = 0;

    // The GPU path's workspace bytes for inputs of these dims, 0 where it cannot take them (the
    // device-resident plugins override it; the others need no workspace). getWorkspaceSize asks it for
    // the largest dims, enqueue (through useDevicePath) for the actual ones.
    virtual size_t deviceWorkspaceBytes(nvinfer1::Dims const* inputs) const {
        (void)inputs;
        return 0;
    }
    // deviceWorkspaceBytes of the inputs' largest dims (getWorkspaceSize's answer).
    size_t largestWorkspaceBytes(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs) const noexcept;
    // Whether this enqueue runs the GPU path (common/devicePath.h useDevicePath): a workspace was given,
    // the largest dims configurePlugin recorded (serialized with the fields) fit the GPU path, and so do
    // these dims, in no more bytes. Both byte counts (CUB's size query included) are computed once per
    // shape and kept.
    bool useDevicePath(nvinfer1::PluginTensorDesc const* inputDesc, void const* workspace);

    // Copies `bytes` from the device to a host buffer (grown as needed) on `stream`.
    bool toHost(void const* device, size_t bytes, std::vector<char>& host, cudaStream_t stream) const;
    bool toDevice(void* device, void const* host, size_t bytes, cudaStream_t stream) const;
    // A host-staged enqueue's last step: host buffer i (pointer, bytes) copied to outputs[i] on `stream`,
    // then the stream waited for. 0, or -1 with the failure logged (`what`: "the detections").
    struct HostBuffer {
        void const* data;
        size_t bytes;
    };
    template <typename T>
    static HostBuffer hostBuffer(std::vector<T> const& values) {
        return HostBuffer{values.data(), values.size() * sizeof(T)};
    }
    int32_t copyOutputs(void* const* outputs, std::initializer_list<HostBuffer> buffers, char const* what,
                        cudaStream_t stream) const;
    bool finish(cudaStream_t stream, char const* step) const;  // waits for the stream, logs a CUDA error
    // A device enqueue's launch status (a cudaError_t): 0, or -1 with the CUDA error logged (naming
    // `kernel` where the plugin launches several).
    int32_t launched(int status, char const* kernel = nullptr) const;
    // Every input copied to mStaged[i] and the stream waited for: the host-staged plugins' first step.
    bool stageInputs(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, cudaStream_t stream);
    const float* staged(int32_t input) const { return reinterpret_cast<const float*>(mStaged[input].data()); }
    void warnNonFinite();  // logs once per plugin object that an image with NaN/inf inputs got no output

    std::vector<std::vector<char>> mStaged;
    bool mWarnedNonFinite{false};
    // The largest input dims of every profile configurePlugin saw (elementwise), serialized as the field
    // kLargestInputsField; empty where unknown (then enqueue runs host-staged).
    std::vector<std::vector<int64_t>> mLargestInputs;

    std::string mName, mVersion, mNamespace;
    FieldValues mFields;
    int32_t mNbInputs;
    std::vector<nvinfer1::DataType> mOutputTypes;

public:
    // The serialized largest dims (common/devicePath.h encodeDims) read back by the creator; ignored where
    // they do not decode.
    void restoreLargestInputs(int32_t const* values, int64_t count);

private:
    std::vector<int32_t> mLargestEncoded;
    std::vector<nvinfer1::PluginField> mSerialized;
    nvinfer1::PluginFieldCollection mSerializedCollection{};
    // useDevicePath's byte counts: of mLargestInputs (valid while mLargestKnown) and of the last actual dims.
    bool mLargestKnown{false};
    bool mLoggedHostStaged{false};
    size_t mLargestBytes{0};
    std::vector<int64_t> mLastDims;
    size_t mLastBytes{0};
};

// The extra serialized field holding the largest configured input dims (TensorRT serializes whatever
// getFieldsToSerialize returns; it need not match the creator's getFieldNames).
constexpr char const* kLargestInputsField = "taostream_largest_input_dims";

// A plugin class's base: PluginBase plus IPluginV3OneCore's clone() as a copy of `Derived` (the same
// in every plugin; nullptr when the copy throws, as clone must not).
template <typename Derived>
class ClonablePlugin : public PluginBase {
public:
    using PluginBase::PluginBase;
    nvinfer1::IPluginV3* clone() noexcept override {
        try {
            return new Derived(static_cast<Derived const&>(*this));
        } catch (...) {
            return nullptr;
        }
    }
};

int64_t volume(nvinfer1::Dims const& dims, int32_t from = 0);

// A creator's factory refusing its fields: logs "<name>: <problem>" and returns nullptr.
nvinfer1::IPluginV3* refuse(char const* name, std::string const& problem);

// A creator for one plugin name and version; `make` validates the fields (logging why not) and
// returns the plugin, or nullptr.
class PluginCreator : public nvinfer1::IPluginCreatorV3One {
public:
    using Factory = nvinfer1::IPluginV3* (*)(char const* name, FieldValues const& fields, char const* pluginNamespace);
    PluginCreator(char const* name, char const* version, std::vector<FieldSpec> const* specs, Factory make);

    nvinfer1::IPluginV3* createPlugin(char const* name, nvinfer1::PluginFieldCollection const* fc,
                                      nvinfer1::TensorRTPhase phase) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override { return &mFieldNames; }
    char const* getPluginName() const noexcept override { return mName; }
    char const* getPluginVersion() const noexcept override { return mVersion; }
    char const* getPluginNamespace() const noexcept override;

private:
    char const* mName;
    char const* mVersion;
    std::vector<FieldSpec> const* mSpecs;
    Factory mMake;
    std::vector<nvinfer1::PluginField> mFieldList;
    nvinfer1::PluginFieldCollection mFieldNames{};
};

// The namespace every creator registers under: "" (TensorRT OSS's) unless TAOSTREAM_PLUGIN_NAMESPACE
// is set when the library loads.
char const* pluginNamespace() noexcept;

// Every creator of the library (defined next to each plugin, collected in pluginLibrary.cpp).
std::vector<PluginCreator*> const& allCreators();
PluginCreator* nmsCreator();
PluginCreator* nmsDynamicCreator();
PluginCreator* batchedNmsCreator();
PluginCreator* batchedNmsDynamicCreator();
PluginCreator* multilevelProposeRoiCreator();
PluginCreator* generateDetectionCreator();
PluginCreator* multilevelCropAndResizeCreator();
PluginCreator* specialSliceCreator();
PluginCreator* proposalCreator();
PluginCreator* proposalDynamicCreator();
PluginCreator* batchTileCreator();
PluginCreator* cropAndResizeCreator();
PluginCreator* cropAndResizeDynamicCreator();
PluginCreator* resizeNearestCreator();
PluginCreator* efficientNmsCreator();

}  // namespace trt
}  // namespace taostream
