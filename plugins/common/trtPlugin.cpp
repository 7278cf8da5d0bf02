// The shared IPluginV3 parts; see trtPlugin.h.
#include "trtPlugin.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "devicePath.h"

namespace taostream {
namespace trt {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;

namespace {

// A numeric PluginField value as double, whatever its element type; false for non-numbers.
bool numberAt(nvinfer1::PluginField const& field, int32_t i, double& value) {
    switch (field.type) {
    case PluginFieldType::kINT32: value = static_cast<int32_t const*>(field.data)[i]; return true;
    case PluginFieldType::kFLOAT32: value = static_cast<float const*>(field.data)[i]; return true;
    case PluginFieldType::kFLOAT64: value = static_cast<double const*>(field.data)[i]; return true;
    case PluginFieldType::kINT8: value = static_cast<int8_t const*>(field.data)[i]; return true;
    case PluginFieldType::kINT16: value = static_cast<int16_t const*>(field.data)[i]; return true;
    case PluginFieldType::kINT64: value = static_cast<double>(static_cast<int64_t const*>(field.data)[i]); return true;
    default: return false;
    }
}

}  // namespace

FieldValues::FieldValues(std::vector<FieldSpec> const* specs) : mSpecs(specs) {
    for (FieldSpec const& spec : *mSpecs) {
        std::vector<int32_t> integers;
        std::vector<float> reals;
        for (double value : spec.defaults) {
            integers.push_back(static_cast<int32_t>(value));
            reals.push_back(static_cast<float>(value));
        }
        mIntegers.push_back(spec.type == PluginFieldType::kINT32 ? integers : std::vector<int32_t>{});
        mReals.push_back(spec.type == PluginFieldType::kFLOAT32 ? reals : std::vector<float>{});
    }
}

FieldValues::FieldValues(FieldValues const& other)
    : mSpecs(other.mSpecs), mIntegers(other.mIntegers), mReals(other.mReals) {}

FieldValues& FieldValues::operator=(FieldValues const& other) {
    mSpecs = other.mSpecs;
    mIntegers = other.mIntegers;
    mReals = other.mReals;
    mFields.clear();
    return *this;
}

int32_t FieldValues::indexOf(char const* name) const {
    for (size_t i = 0; i < mSpecs->size(); ++i) {
        if (std::strcmp((*mSpecs)[i].name, name) == 0) return static_cast<int32_t>(i);
    }
    return -1;
}

bool FieldValues::parse(nvinfer1::PluginFieldCollection const* fc, char const* pluginName) {
    std::vector<bool> seen(mSpecs->size(), false);
    for (int32_t f = 0; fc != nullptr && f < fc->nbFields; ++f) {
        nvinfer1::PluginField const& field = fc->fields[f];
        if (field.name == nullptr) continue;
        const int32_t i = indexOf(field.name);
        if (i < 0) continue;
        FieldSpec const& spec = (*mSpecs)[i];
        const bool lengthFits = spec.anyLength ? field.length >= 1 : field.length == spec.length;
        if (!lengthFits || field.data == nullptr) {
            log(nvinfer1::ILogger::Severity::kERROR, std::string(pluginName) + ": field '" + spec.name + "' has " +
                                                         std::to_string(field.length) + " values, expected " +
                                                         (spec.anyLength ? std::string("at least 1")
                                                                         : std::to_string(spec.length)));
            return false;
        }
        std::vector<int32_t> integers;
        std::vector<float> reals;
        for (int32_t k = 0; k < field.length; ++k) {
            double value = 0;
            if (!numberAt(field, k, value) || !std::isfinite(value)) {
                log(nvinfer1::ILogger::Severity::kERROR,
                    std::string(pluginName) + ": field '" + spec.name + "' is not a finite number");
                return false;
            }
            integers.push_back(static_cast<int32_t>(value));
            reals.push_back(static_cast<float>(value));
        }
        if (spec.type == PluginFieldType::kINT32) {
            mIntegers[i] = integers;
        } else {
            mReals[i] = reals;
        }
        seen[i] = true;
    }
    for (size_t i = 0; i < mSpecs->size(); ++i) {
        if ((*mSpecs)[i].required && !seen[i]) {
            log(nvinfer1::ILogger::Severity::kERROR,
                std::string(pluginName) + ": required field '" + (*mSpecs)[i].name + "' is missing");
            return false;
        }
    }
    mFields.clear();
    return true;
}

int32_t FieldValues::integer(char const* name, int32_t index) const {
    const int32_t i = indexOf(name);
    return mIntegers.at(i).at(index);
}

float FieldValues::real(char const* name, int32_t index) const {
    const int32_t i = indexOf(name);
    return mReals.at(i).at(index);
}

int32_t FieldValues::count(char const* name) const {
    const int32_t i = indexOf(name);
    return static_cast<int32_t>((*mSpecs).at(i).type == PluginFieldType::kINT32 ? mIntegers.at(i).size()
                                                                                : mReals.at(i).size());
}

nvinfer1::PluginFieldCollection const* FieldValues::collection() {
    mFields.clear();
    for (size_t i = 0; i < mSpecs->size(); ++i) {
        FieldSpec const& spec = (*mSpecs)[i];
        void const* data = spec.type == PluginFieldType::kINT32 ? static_cast<void const*>(mIntegers[i].data())
                                                                 : static_cast<void const*>(mReals[i].data());
        mFields.emplace_back(spec.name, data, spec.type, count(spec.name));
    }
    mCollection.nbFields = static_cast<int32_t>(mFields.size());
    mCollection.fields = mFields.data();
    return &mCollection;
}

int32_t PluginBase::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const*,
                            void const* const* inputs, void* const* outputs, void* workspace,
                            cudaStream_t stream) noexcept {
    try {
        return run(inputDesc, inputs, outputs, workspace, stream);
    } catch (std::exception const& e) {
        log(nvinfer1::ILogger::Severity::kERROR, mName + ": " + e.what());
        return -1;
    }
}

nvinfer1::IPluginV3* refuse(char const* name, std::string const& problem) {
    log(nvinfer1::ILogger::Severity::kERROR, std::string(name) + ": " + problem);
    return nullptr;
}

int64_t volume(nvinfer1::Dims const& dims, int32_t from) {
    int64_t v = 1;
    for (int32_t i = from; i < dims.nbDims; ++i) v *= dims.d[i];
    return v;
}

PluginBase::PluginBase(std::string name, std::string version, std::string pluginNamespace, FieldValues fields,
                       int32_t nbInputs, std::vector<DataType> outputTypes)
    : mName(std::move(name)),
      mVersion(std::move(version)),
      mNamespace(std::move(pluginNamespace)),
      mFields(std::move(fields)),
      mNbInputs(nbInputs),
      mOutputTypes(std::move(outputTypes)) {}

nvinfer1::IPluginCapability* PluginBase::getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept {
    switch (type) {
    case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
    case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
    case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
    }
    return nullptr;
}

int32_t PluginBase::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
                                    nvinfer1::DynamicPluginTensorDesc const*, int32_t) noexcept {
    if (nbInputs != mNbInputs) {
        log(nvinfer1::ILogger::Severity::kERROR,
            mName + ": " + std::to_string(nbInputs) + " inputs, expected " + std::to_string(mNbInputs));
        return -1;
    }
    // The largest dims of this profile, merged into those of the profiles before (see devicePath.h).
    std::vector<std::vector<int64_t>> largest;
    for (int32_t i = 0; i < nbInputs; ++i) largest.emplace_back(in[i].max.d, in[i].max.d + std::max(0, in[i].max.nbDims));
    device::mergeLargest(&mLargestInputs, largest);
    mLargestKnown = false;
    // Only the fully known dimensions can be checked at build time; -1 (dynamic) ones pass here and
    // are checked again in onShapeChange.
    std::vector<nvinfer1::Dims> dims;
    for (int32_t i = 0; i < nbInputs; ++i) {
        nvinfer1::Dims d = in[i].desc.dims;
        bool known = true;
        for (int32_t k = 0; k < d.nbDims; ++k) known = known && d.d[k] >= 0;
        if (!known) return 0;
        dims.push_back(d);
    }
    const std::string problem = checkInputs(dims.data(), nbInputs);
    if (!problem.empty()) {
        log(nvinfer1::ILogger::Severity::kERROR, mName + ": " + problem);
        return -1;
    }
    return 0;
}

int32_t PluginBase::onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs,
                                  nvinfer1::PluginTensorDesc const*, int32_t) noexcept {
    if (nbInputs != mNbInputs) return -1;
    std::vector<nvinfer1::Dims> dims;
    for (int32_t i = 0; i < nbInputs; ++i) dims.push_back(in[i].dims);
    const std::string problem = checkInputs(dims.data(), nbInputs);
    if (!problem.empty()) {
        log(nvinfer1::ILogger::Severity::kERROR, mName + ": " + problem);
        return -1;
    }
    return 0;
}

int32_t PluginBase::getOutputDataTypes(DataType* outputTypes, int32_t nbOutputs, DataType const*,
                                       int32_t) const noexcept {
    if (nbOutputs != static_cast<int32_t>(mOutputTypes.size())) return -1;
    for (int32_t i = 0; i < nbOutputs; ++i) outputTypes[i] = mOutputTypes[i];
    return 0;
}

bool PluginBase::supportsFormatCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut,
                                           int32_t nbInputs, int32_t nbOutputs) noexcept {
    if (pos < 0 || pos >= nbInputs + nbOutputs) return false;
    nvinfer1::PluginTensorDesc const& desc = inOut[pos].desc;
    const DataType expected = pos < nbInputs ? DataType::kFLOAT : mOutputTypes.at(pos - nbInputs);
    return desc.format == nvinfer1::TensorFormat::kLINEAR && desc.type == expected;
}

nvinfer1::IPluginV3* PluginBase::attachToContext(nvinfer1::IPluginResourceContext*) noexcept { return clone(); }

nvinfer1::PluginFieldCollection const* PluginBase::getFieldsToSerialize() noexcept {
    nvinfer1::PluginFieldCollection const* fields = mFields.collection();
    mSerialized.assign(fields->fields, fields->fields + fields->nbFields);
    if (!mLargestInputs.empty()) {
        mLargestEncoded = device::encodeDims(mLargestInputs);
        mSerialized.emplace_back(kLargestInputsField, mLargestEncoded.data(), PluginFieldType::kINT32,
                                 static_cast<int32_t>(mLargestEncoded.size()));
    }
    mSerializedCollection.nbFields = static_cast<int32_t>(mSerialized.size());
    mSerializedCollection.fields = mSerialized.data();
    return &mSerializedCollection;
}

void PluginBase::restoreLargestInputs(int32_t const* values, int64_t count) {
    std::vector<std::vector<int64_t>> dims;
    // any number of inputs: a plugin whose input count is known once configured (EfficientNMS) checks it
    // when it uses them (useDevicePath)
    if (values != nullptr && device::decodeDims(values, count, -1, &dims)) mLargestInputs = dims;
    mLargestKnown = false;
}

size_t PluginBase::largestWorkspaceBytes(nvinfer1::DynamicPluginTensorDesc const* inputs,
                                         int32_t nbInputs) const noexcept {
    if (nbInputs != mNbInputs) return 0;
    try {
        std::vector<nvinfer1::Dims> dims(nbInputs);
        for (int32_t i = 0; i < nbInputs; ++i) dims[i] = inputs[i].max;
        return deviceWorkspaceBytes(dims.data());
    } catch (...) {
        return 0;  // getWorkspaceSize must not throw: no workspace, enqueue runs host-staged
    }
}

bool PluginBase::useDevicePath(nvinfer1::PluginTensorDesc const* inputDesc, void const* workspace) {
    if (!mLargestKnown) {
        mLargestBytes = 0;
        if (static_cast<int32_t>(mLargestInputs.size()) == mNbInputs) {
            std::vector<nvinfer1::Dims> dims(mNbInputs);
            bool known = true;
            for (int32_t i = 0; i < mNbInputs; ++i) {
                dims[i].nbDims = static_cast<int32_t>(mLargestInputs[i].size());
                for (int32_t k = 0; k < dims[i].nbDims; ++k) {
                    dims[i].d[k] = mLargestInputs[i][k];
                    known = known && mLargestInputs[i][k] >= 0;
                }
            }
            if (known) mLargestBytes = deviceWorkspaceBytes(dims.data());
        }
        mLargestKnown = true;
    }
    std::vector<int64_t> actual;
    std::vector<nvinfer1::Dims> dims(mNbInputs);
    for (int32_t i = 0; i < mNbInputs; ++i) {
        dims[i] = inputDesc[i].dims;
        actual.push_back(dims[i].nbDims);
        actual.insert(actual.end(), dims[i].d, dims[i].d + std::max(0, dims[i].nbDims));
    }
    if (actual != mLastDims) {
        mLastBytes = deviceWorkspaceBytes(dims.data());
        mLastDims = actual;
    }
    const bool gpu = device::useDevicePath(workspace != nullptr, mLargestBytes, mLastBytes);
    if (!gpu && !mLoggedHostStaged) {  // once per plugin object: which path ran is visible in the log
        mLoggedHostStaged = true;
        log(nvinfer1::ILogger::Severity::kINFO,
            mName + ": host-staged enqueue (" +
                (workspace == nullptr ? std::string("no workspace")
                                      : mLargestBytes == 0 ? std::string("the workspace was sized for shapes the GPU "
                                                                         "path does not take, or is of unknown size")
                                                           : std::string("shapes past the GPU path's limits")) +
                ")");
    }
    return gpu;
}

bool PluginBase::toHost(void const* device, size_t bytes, std::vector<char>& host, cudaStream_t stream) const {
    if (host.size() < bytes) host.resize(bytes);
    if (bytes == 0) return true;
    const cudaError_t status = cudaMemcpyAsync(host.data(), device, bytes, cudaMemcpyDeviceToHost, stream);
    if (status != cudaSuccess) {
        log(nvinfer1::ILogger::Severity::kERROR, mName + ": copy to the host failed: " + cudaGetErrorString(status));
        return false;
    }
    return true;
}

bool PluginBase::toDevice(void* device, void const* host, size_t bytes, cudaStream_t stream) const {
    if (bytes == 0) return true;
    const cudaError_t status = cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream);
    if (status != cudaSuccess) {
        log(nvinfer1::ILogger::Severity::kERROR, mName + ": copy to the device failed: " + cudaGetErrorString(status));
        return false;
    }
    return true;
}

int32_t PluginBase::copyOutputs(void* const* outputs, std::initializer_list<HostBuffer> buffers, char const* what,
                                cudaStream_t stream) const {
    bool copied = true;
    int32_t index = 0;
    for (HostBuffer const& buffer : buffers) {
        copied = copied && toDevice(outputs[index++], buffer.data, buffer.bytes, stream);
    }
    return finish(stream, (std::string("copy of ") + what).c_str()) && copied ? 0 : -1;
}

bool PluginBase::stageInputs(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
                             cudaStream_t stream) {
    mStaged.resize(mNbInputs);
    for (int32_t i = 0; i < mNbInputs; ++i) {
        if (!toHost(inputs[i], volume(inputDesc[i].dims) * sizeof(float), mStaged[i], stream)) return false;
    }
    return finish(stream, "copy of the inputs");
}

void PluginBase::warnNonFinite() {
    if (mWarnedNonFinite) return;
    mWarnedNonFinite = true;
    log(nvinfer1::ILogger::Severity::kWARNING, mName + ": NaN or infinite inputs; such an image gets no output");
}

bool PluginBase::finish(cudaStream_t stream, char const* step) const {
    const cudaError_t status = cudaStreamSynchronize(stream);
    if (status != cudaSuccess) {
        log(nvinfer1::ILogger::Severity::kERROR, mName + ": " + step + ": " + cudaGetErrorString(status));
        return false;
    }
    return true;
}

int32_t PluginBase::launched(int status, char const* kernel) const {
    if (status == 0) return 0;
    log(nvinfer1::ILogger::Severity::kERROR, mName + ": " + (kernel ? std::string(kernel) + " " : std::string()) +
                                                 "kernel launch failed: " +
                                                 cudaGetErrorString(static_cast<cudaError_t>(status)));
    return -1;
}

PluginCreator::PluginCreator(char const* name, char const* version, std::vector<FieldSpec> const* specs,
                             Factory make)
    : mName(name), mVersion(version), mSpecs(specs), mMake(make) {
    for (FieldSpec const& spec : *mSpecs) mFieldList.emplace_back(spec.name, nullptr, spec.type, spec.length);
    mFieldNames.nbFields = static_cast<int32_t>(mFieldList.size());
    mFieldNames.fields = mFieldList.data();
}

char const* PluginCreator::getPluginNamespace() const noexcept { return pluginNamespace(); }

nvinfer1::IPluginV3* PluginCreator::createPlugin(char const* name, nvinfer1::PluginFieldCollection const* fc,
                                                 nvinfer1::TensorRTPhase) noexcept {
    try {
        (void)name;  // the layer name; TensorRT keeps it
        FieldValues fields(mSpecs);
        if (!fields.parse(fc, mName)) return nullptr;
        nvinfer1::IPluginV3* plugin = mMake(mName, fields, pluginNamespace());
        // a serialized plugin: the largest dims its workspace was sized for (PluginBase::getFieldsToSerialize)
        for (int32_t f = 0; plugin != nullptr && fc != nullptr && f < fc->nbFields; ++f) {
            nvinfer1::PluginField const& field = fc->fields[f];
            if (field.name != nullptr && std::strcmp(field.name, kLargestInputsField) == 0 &&
                field.type == PluginFieldType::kINT32) {
                static_cast<PluginBase*>(plugin)->restoreLargestInputs(static_cast<int32_t const*>(field.data),
                                                                       field.length);
            }
        }
        return plugin;
    } catch (std::exception const& e) {
        log(nvinfer1::ILogger::Severity::kERROR, std::string(mName) + ": " + e.what());
        return nullptr;
    }
}

}  // namespace trt
}  // namespace taostream
