// taostream_parser_cli: runs ONE exported parser of libnvds_infercustomparser_taostream.so on the
// layers of a request file and writes what it returned, so the same case can run natively, under
// qemu-aarch64 (cross build) and on a Jetson. parsers/cross.py writes requests and reads results.
//
//   taostream_parser_cli LIBRARY REQUEST [RESULT|-]     (default: the result goes to stdout)
//   taostream_parser_cli --abi                          (struct sizes/offsets as this build lays them out)
//
// Request: text lines, then the line "payload" and the layers' bytes (little-endian, as the
// engine's output bindings hold them):
//   taostream-parser-request 1
//   function NvDsInferParseCustomNMSTLT
//   kind detection | instance_mask | classifier
//   network <width> <height> <channels>
//   classes <num-detected-classes>
//   thresholds <pre-cluster threshold per class, strtof syntax (hex floats keep every bit)>
//   classifier_threshold <float>
//   env <NAME> <value: the rest of the line>      (set before the call; `unset <NAME>` clears)
//   layer <name> <data type> <is_input> <num_elements> <num_dims> <the first min(num_dims, 8) dims>
//         <payload offset> <bytes>
// Result: "taostream-parser-result 1", "status ok|parse_failed|load_failed", "objects N",
// "mask_floats M" or "attributes N", then "payload" and the records (see parsers/cross.py).
// Exit status: 0 ok, 1 the parser returned false, 2 bad request or usage, 3 library/symbol not loaded.

// The harness is compiled into this driver, so the driver calls the parsers exactly as the ctypes
// tests do (same std::vector building, same struct copies) and shares its record structs.
#include "parser_harness.cpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitParseFailed = 1;
constexpr int kExitBadRequest = 2;
constexpr int kExitLoadFailed = 3;
constexpr int kObjectCapacity = 4096;

struct RequestLayer {
  std::string name;
  HarnessLayer header{};
  size_t offset = 0, bytes = 0;
  std::vector<std::max_align_t> storage;  // own aligned copy, as an engine binding would be
};

struct Request {
  std::string function, kind = "detection";
  unsigned net_w = 0, net_h = 0, net_c = 3, num_classes = 0;
  std::vector<float> thresholds;
  float classifier_threshold = 0.5f;
  std::vector<RequestLayer> layers;
};

[[noreturn]] void bad_request(const std::string &path, const std::string &what) {
  std::cerr << "taostream_parser_cli: " << path << ": " << what << std::endl;
  std::exit(kExitBadRequest);
}

// A request line for a message: printable, and short (a missing "payload" line makes the
// layers' bytes look like text lines).
std::string quoted(const std::string &text) {
  std::string shown = text.substr(0, 80);
  for (char &c : shown)
    if (c < 0x20 || c > 0x7e) c = '?';
  return "'" + shown + (text.size() > 80 ? "...'" : "'");
}

float read_float(const std::string &text, const std::string &path) {
  char *end = nullptr;
  const float value = std::strtof(text.c_str(), &end);
  if (text.empty() || *end != '\0') bad_request(path, quoted(text) + " is not a float");
  return value;
}

void read_layer(std::istringstream &line, const std::string &path, Request *request) {
  RequestLayer layer;
  line >> layer.name >> layer.header.data_type >> layer.header.is_input >>
      layer.header.num_elements >> layer.header.num_dims;
  if (!line) bad_request(path, "layer '" + layer.name + "': bad header");
  // numDims is passed on as written (the parsers must reject more than 8); NvDsInferDims holds 8.
  for (unsigned k = 0; k < layer.header.num_dims && k < 8; ++k) line >> layer.header.dims[k];
  line >> layer.offset >> layer.bytes;
  if (!line) bad_request(path, "layer '" + layer.name + "': needs dims, offset and byte count");
  request->layers.push_back(std::move(layer));
}

// Reads the text lines; returns the payload (everything after the "payload" line).
std::string read_header(std::istream &in, const std::string &path, Request *request) {
  std::string text;
  if (!std::getline(in, text) || text != "taostream-parser-request 1")
    bad_request(path, "not a taostream parser request (first line must be 'taostream-parser-request 1')");
  while (std::getline(in, text) && text != "payload") {
    std::istringstream line(text);
    std::string key, value;
    line >> key;
    if (key == "function") line >> request->function;
    else if (key == "kind") line >> request->kind;
    else if (key == "network") line >> request->net_w >> request->net_h >> request->net_c;
    else if (key == "classes") line >> request->num_classes;
    else if (key == "thresholds") while (line >> value) request->thresholds.push_back(read_float(value, path));
    else if (key == "classifier_threshold" && line >> value) request->classifier_threshold = read_float(value, path);
    else if (key == "env" && line >> value) {
      std::string rest;
      std::getline(line >> std::ws, rest);
      setenv(value.c_str(), rest.c_str(), 1);
    } else if (key == "unset" && line >> value) unsetenv(value.c_str());
    else if (key == "layer") read_layer(line, path, request);
    else if (!key.empty()) bad_request(path, "unknown or incomplete line " + quoted(text));
    if (line.fail() && key != "thresholds" && key != "env") bad_request(path, "bad line " + quoted(text));
  }
  if (text != "payload") bad_request(path, "no 'payload' line");
  if (request->function.empty()) bad_request(path, "no 'function' line");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Request read_request(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) bad_request(path, "cannot open");
  Request request;
  const std::string payload = read_header(file, path, &request);
  for (RequestLayer &layer : request.layers) {
    if (layer.offset > payload.size() || layer.bytes > payload.size() - layer.offset)
      bad_request(path, "layer '" + layer.name + "': bytes beyond the payload");
    layer.storage.resize(layer.bytes / sizeof(std::max_align_t) + 1);
    std::memcpy(layer.storage.data(), payload.data() + layer.offset, layer.bytes);
    layer.header.name = layer.name.c_str();
    layer.header.buffer = layer.bytes ? layer.storage.data() : nullptr;
  }
  return request;
}

template <typename Record>
void write_records(std::ostream &out, const Record *records, size_t count) {
  out.write(reinterpret_cast<const char *>(records), static_cast<std::streamsize>(count * sizeof(Record)));
}

const char *status_of(int count) {
  return count >= 0 ? "ok" : count == kParseFailed ? "parse_failed" : "load_failed";
}

int exit_code(int count) {
  return count >= 0 ? kExitOk : count == kParseFailed ? kExitParseFailed : kExitLoadFailed;
}

int run_detection(const std::string &library, const Request &r, const std::vector<HarnessLayer> &layers,
                  std::ostream &out) {
  const bool masks = r.kind == "instance_mask";
  long mask_capacity = 0;  // a returned mask is one plane of a layer: the layers bound the total
  for (const HarnessLayer &l : layers) mask_capacity += masks ? static_cast<long>(l.num_elements) : 0;
  std::vector<HarnessObject> objects(kObjectCapacity);
  std::vector<float> mask_floats(static_cast<size_t>(mask_capacity) + 1);
  auto call = [&]() {
    return taostream_harness_parse(library.c_str(), r.function.c_str(), masks ? 1 : 0, layers.data(),
                                   static_cast<int>(layers.size()), r.net_w, r.net_h, r.net_c, r.num_classes,
                                   r.thresholds.data(), static_cast<int>(r.thresholds.size()), objects.data(),
                                   static_cast<int>(objects.size()), mask_floats.data(), mask_capacity);
  };
  int count = call();
  if (count > static_cast<int>(objects.size())) {  // more than the first guess: call again
    objects.resize(static_cast<size_t>(count));
    count = call();
  }
  const size_t n = count > 0 ? static_cast<size_t>(count) : 0;
  size_t used = 0;
  for (size_t i = 0; i < n; ++i) used += objects[i].mask_size / sizeof(float);
  out << "taostream-parser-result 1\nstatus " << status_of(count) << "\nobjects " << n
      << "\nmask_floats " << used << "\npayload\n";
  write_records(out, objects.data(), n);
  write_records(out, mask_floats.data(), used);
  return exit_code(count);
}

int run_classifier(const std::string &library, const Request &r, const std::vector<HarnessLayer> &layers,
                   std::ostream &out) {
  constexpr int kCapacity = 1024;
  std::vector<unsigned> indices(kCapacity), values(kCapacity);
  std::vector<float> confidences(kCapacity);
  const int count = taostream_harness_classify(
      library.c_str(), r.function.c_str(), layers.data(), static_cast<int>(layers.size()), r.net_w, r.net_h,
      r.net_c, r.classifier_threshold, indices.data(), values.data(), confidences.data(), kCapacity);
  const size_t n = count > 0 ? std::min(static_cast<size_t>(count), static_cast<size_t>(kCapacity)) : 0;
  out << "taostream-parser-result 1\nstatus " << status_of(count) << "\nattributes " << n << "\npayload\n";
  for (size_t i = 0; i < n; ++i) {
    write_records(out, &indices[i], 1);
    write_records(out, &values[i], 1);
    write_records(out, &confidences[i], 1);
  }
  return exit_code(count);
}

int print_abi_layout() {
  unsigned long values[32];
  const int n = taostream_harness_abi_layout(values, 32);
  std::cout << "abi";
  for (int i = 0; i < n && i < 32; ++i) std::cout << ' ' << values[i];
  std::cout << std::endl;
  return kExitOk;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc == 2 && std::string(argv[1]) == "--abi") return print_abi_layout();
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: taostream_parser_cli LIBRARY REQUEST [RESULT|-]\n"
                 "       taostream_parser_cli --abi" << std::endl;
    return kExitBadRequest;
  }
  const std::string library = argv[1], request_path = argv[2];
  const Request request = read_request(request_path);
  std::vector<HarnessLayer> layers;
  for (const RequestLayer &l : request.layers) layers.push_back(l.header);
  if (request.kind != "detection" && request.kind != "instance_mask" && request.kind != "classifier")
    bad_request(request_path, "kind must be detection, instance_mask or classifier, not '" + request.kind + "'");
  std::ostringstream result;  // written only once complete: no half result on a crash
  const int code = request.kind == "classifier" ? run_classifier(library, request, layers, result)
                                                : run_detection(library, request, layers, result);
  const std::string bytes = result.str();
  if (argc == 4 && std::string(argv[3]) != "-") {
    const std::string path = argv[3], partial = path + ".partial";
    std::ofstream file(partial, std::ios::binary);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    file.close();
    if (!file || std::rename(partial.c_str(), path.c_str()) != 0) {
      std::cerr << "taostream_parser_cli: cannot write " << path << std::endl;
      return kExitBadRequest;
    }
  } else {
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::cout.flush();
  }
  return code;
}
