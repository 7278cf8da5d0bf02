// The entry points of libtaostream_plugins.so.
//
// Two ways in, one set of creators:
// - dlopen alone (DeepStream's custom-lib-path, trtexec --staticPlugins, Triton's
//   --backend-config=tensorrt,plugins=): when the library loads it registers each creator with the
//   global plugin registry of the libnvinfer already in the process, unless a creator of the same
//   name, version and namespace is registered there (TensorRT 10's own libnvinfer_plugin still ships
//   NMS_TRT, BatchedNMS_TRT and the MaskRCNN plugins: those stay in charge).
// - IPluginRegistry::loadLibrary (trtexec --dynamicPlugins, --setPluginsToSerialize): TensorRT calls
//   setLoggerFinder and getCreators, then registers what getCreators returns and fails as a whole if
//   any of it is registered already. So getCreators first takes back this library's own load-time
//   registrations and returns only the creators nobody else has registered.
//
// No libnvinfer is linked: getPluginRegistry, getLogger and getInferLibMajorVersion are looked up in
// the process. The registry's virtual table differs between TensorRT majors (11 dropped the
// IPluginCreator methods), so a library built against one major's headers leaves a registry of another
// major alone and says so.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <NvInferVersion.h>

#include "trtPlugin.h"

#define TAOSTREAM_EXPORT extern "C" __attribute__((visibility("default")))

namespace taostream {
namespace trt {

namespace {

// Function-local statics: the load-time registration runs during dynamic initialization, so nothing
// it touches may depend on another object's initialization order.
std::mutex gMutex;        // the registrations (constant-initialized)
std::mutex gLoggerMutex;  // the logger finder (constant-initialized)
nvinfer1::ILoggerFinder* gLoggerFinder{nullptr};

std::vector<PluginCreator*>& registeredAtLoad() {
    static std::vector<PluginCreator*> creators;
    return creators;
}

std::string& namespaceStorage() {
    static std::string value;
    return value;
}

// A function of the libnvinfer in this process: global symbols first, then a libnvinfer loaded with
// RTLD_LOCAL (a GStreamer element or a Triton backend), never loading one.
void* nvinferSymbol(char const* name) {
    if (void* symbol = dlsym(RTLD_DEFAULT, name)) return symbol;
    const std::string versioned = "libnvinfer.so." + std::to_string(NV_TENSORRT_MAJOR);
    for (char const* library : {versioned.c_str(), "libnvinfer.so"}) {
        if (void* handle = dlopen(library, RTLD_LAZY | RTLD_NOLOAD)) {
            void* symbol = dlsym(handle, name);
            dlclose(handle);  // the process keeps its own reference
            if (symbol) return symbol;
        }
    }
    return nullptr;
}

// The TensorRT major of the process, 0 when no libnvinfer is loaded.
int32_t processMajor() {
    auto major = reinterpret_cast<int32_t (*)()>(nvinferSymbol("getInferLibMajorVersion"));
    return major ? major() : 0;
}

// The process's registry when its TensorRT major is the one this library was compiled for.
nvinfer1::IPluginRegistry* processRegistry(bool reportMismatch) {
    auto registry = reinterpret_cast<nvinfer1::IPluginRegistry* (*)()>(nvinferSymbol("getPluginRegistry"));
    if (registry == nullptr) return nullptr;
    auto major = reinterpret_cast<int32_t (*)()>(nvinferSymbol("getInferLibMajorVersion"));
    if (major == nullptr || major() != NV_TENSORRT_MAJOR) {
        if (reportMismatch) {
            log(nvinfer1::ILogger::Severity::kERROR,
                "libtaostream_plugins.so was built against TensorRT " + std::to_string(NV_TENSORRT_MAJOR) +
                    " headers but this process runs TensorRT " + (major ? std::to_string(major()) : "?") +
                    "; no plugin registered: rebuild it with -DTENSORRT_ROOT=<that TensorRT>");
        }
        return nullptr;
    }
    return registry();
}

// Name, version and namespace of a registered creator of either generation (TensorRT 10's own
// NMS_TRT & co. are IPluginV2 creators); false for a kind this library does not know.
bool creatorId(nvinfer1::IPluginCreatorInterface* creator, std::string& id) {
    const std::string kind = creator->getInterfaceInfo().kind;
    if (kind == "PLUGIN CREATOR_V3ONE") {
        auto* v3 = static_cast<nvinfer1::IPluginCreatorV3One*>(creator);
        id = std::string(v3->getPluginName()) + '\n' + v3->getPluginVersion() + '\n' + v3->getPluginNamespace();
        return true;
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    if (kind == "PLUGIN CREATOR_V1") {
        auto* v1 = static_cast<nvinfer1::IPluginCreator*>(creator);
        id = std::string(v1->getPluginName()) + '\n' + v1->getPluginVersion() + '\n' + v1->getPluginNamespace();
        return true;
    }
#pragma GCC diagnostic pop
    return false;
}

// Whether another creator of this name, version and namespace is registered. Reads the registry's
// list (getCreator would log an error for every name it does not find).
bool registeredElsewhere(nvinfer1::IPluginRegistry* registry, PluginCreator* creator) {
    int32_t count = 0;
    nvinfer1::IPluginCreatorInterface* const* registered = registry->getAllCreators(&count);
    const std::string wanted = std::string(creator->getPluginName()) + '\n' + creator->getPluginVersion() + '\n' +
                               creator->getPluginNamespace();
    std::string id;
    for (int32_t i = 0; registered != nullptr && i < count; ++i) {
        if (registered[i] != nullptr && registered[i] != creator && creatorId(registered[i], id) && id == wanted) {
            return true;
        }
    }
    return false;
}

void registerAtLoad() {
    char const* off = std::getenv("TAOSTREAM_PLUGINS_NO_AUTOREGISTER");
    if (off != nullptr && std::strcmp(off, "1") == 0) return;
    nvinfer1::IPluginRegistry* registry = processRegistry(true);
    if (registry == nullptr) return;  // not in a TensorRT process (or another major): nothing to do
    std::lock_guard<std::mutex> lock(gMutex);
    for (PluginCreator* creator : allCreators()) {
        const std::string id = std::string(creator->getPluginName()) + " version " + creator->getPluginVersion();
        if (registeredElsewhere(registry, creator)) {
            log(nvinfer1::ILogger::Severity::kINFO, id + ": already registered (TensorRT's own), left in charge");
            continue;
        }
        if (registry->registerCreator(*creator, creator->getPluginNamespace())) {
            registeredAtLoad().push_back(creator);
        }
    }
}

// Runs when the library is loaded (dlopen, or loadLibrary's own dlopen).
struct LoadTimeRegistration {
    LoadTimeRegistration() {
        char const* ns = std::getenv("TAOSTREAM_PLUGIN_NAMESPACE");
        namespaceStorage() = ns ? ns : "";
        registerAtLoad();
    }
};

}  // namespace

char const* pluginNamespace() noexcept { return namespaceStorage().c_str(); }

void log(nvinfer1::ILogger::Severity severity, std::string const& message) noexcept {
    try {
        nvinfer1::ILogger* logger = nullptr;
        {
            std::lock_guard<std::mutex> lock(gLoggerMutex);
            if (gLoggerFinder != nullptr) logger = gLoggerFinder->findLogger();
        }
        if (logger == nullptr) {
            if (auto global = reinterpret_cast<nvinfer1::ILogger* (*)()>(nvinferSymbol("getLogger"))) {
                logger = global();
            }
        }
        const std::string line = "taostream plugins: " + message;
        if (logger != nullptr) {
            logger->log(severity, line.c_str());
        } else if (severity <= nvinfer1::ILogger::Severity::kWARNING) {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
    } catch (...) {
    }
}

std::vector<PluginCreator*> const& allCreators() {
    static const std::vector<PluginCreator*> creators = {
        nmsCreator(),       nmsDynamicCreator(),        batchedNmsCreator(),
        batchedNmsDynamicCreator(), multilevelProposeRoiCreator(), generateDetectionCreator(),
        multilevelCropAndResizeCreator(),
        specialSliceCreator(), proposalCreator(), proposalDynamicCreator(),
        batchTileCreator(), cropAndResizeCreator(), cropAndResizeDynamicCreator(), resizeNearestCreator(),
        efficientNmsCreator()};
    return creators;
}

namespace {
const LoadTimeRegistration gLoadTimeRegistration;  // last in this file: after everything it uses
}  // namespace

}  // namespace trt
}  // namespace taostream

// The TensorRT major the library was built against, readable in the file without loading it (taostream's
// bundle and check compare it with the TensorRT a DeepStream release runs; plugins/library.py).
#define TAOSTREAM_PLUGINS_STR2(x) #x
#define TAOSTREAM_PLUGINS_STR(x) TAOSTREAM_PLUGINS_STR2(x)
extern "C" __attribute__((used, visibility("hidden"))) const char* const taostream_plugins_tensorrt =
    "TAOSTREAM_PLUGINS_TENSORRT major=" TAOSTREAM_PLUGINS_STR(NV_TENSORRT_MAJOR) " minor="
    TAOSTREAM_PLUGINS_STR(NV_TENSORRT_MINOR);

namespace tt = taostream::trt;

// IPluginRegistry::loadLibrary's entry points (TensorRT 10+). The returned array lives as long as the
// library.
TAOSTREAM_EXPORT nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators) {
    static std::vector<nvinfer1::IPluginCreatorInterface*> offered;
    const int32_t major = tt::processMajor();
    if (major != 0 && major != NV_TENSORRT_MAJOR) {  // its creator interfaces may not be ours
        tt::processRegistry(true);                    // says so
        nbCreators = 0;
        return nullptr;
    }
    std::lock_guard<std::mutex> lock(tt::gMutex);
    nvinfer1::IPluginRegistry* registry = tt::processRegistry(false);
    if (registry != nullptr) {
        for (tt::PluginCreator* creator : tt::registeredAtLoad()) registry->deregisterCreator(*creator);
    }
    tt::registeredAtLoad().clear();
    offered.clear();
    for (tt::PluginCreator* creator : tt::allCreators()) {
        if (registry != nullptr && tt::registeredElsewhere(registry, creator)) continue;
        offered.push_back(creator);
    }
    nbCreators = static_cast<int32_t>(offered.size());
    return offered.data();
}

TAOSTREAM_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder) {
    std::lock_guard<std::mutex> lock(tt::gLoggerMutex);
    if (finder != nullptr) tt::gLoggerFinder = finder;
}
