/*
 * The DeepStream nvinfer custom-parser ABI the taostream parsers are built against.
 *
 * With the DeepStream SDK present (TAOSTREAM_HAVE_DEEPSTREAM_HEADERS), this includes the SDK's own
 * nvdsinfer_custom_impl.h. Without it, it declares the same types from the documented ABI
 * (nvdsinfer.h / nvdsinfer_custom_impl.h, DeepStream 5-9): field order, types and sizes must match
 * the SDK exactly, because nvinfer passes these structs to the library by reference.
 *
 * DeepStream 9 appended `float rotation_angle` to NvDsInferObjectDetectionInfo (24 -> 28 bytes).
 * TAOSTREAM_DS_ROTATION_ANGLE=1 selects that layout; a library built for one layout must not be
 * loaded by the other DeepStream.
 */
#ifndef TAOSTREAM_NVDSINFER_ABI_H
#define TAOSTREAM_NVDSINFER_ABI_H

#if defined(TAOSTREAM_HAVE_DEEPSTREAM_HEADERS) && TAOSTREAM_HAVE_DEEPSTREAM_HEADERS
#include "nvdsinfer_custom_impl.h"
#else

#include <string>
#include <vector>

#ifndef TAOSTREAM_DS_ROTATION_ANGLE
#define TAOSTREAM_DS_ROTATION_ANGLE 0
#endif

extern "C" {

#define NVDSINFER_MAX_DIMS 8

typedef struct {
  unsigned int numDims;
  unsigned int d[NVDSINFER_MAX_DIMS];
  unsigned int numElements;
} NvDsInferDims;

typedef enum {
  FLOAT = 0,
  HALF = 1,
  INT8 = 2,
  INT32 = 3,
  INT64 = 4,  /* DeepStream 8+ */
  UINT8 = 5,  /* DeepStream 8+ */
} NvDsInferDataType;

typedef struct {
  NvDsInferDataType dataType;
  union {
    NvDsInferDims inferDims;
    NvDsInferDims dims;
  };
  int bindingIndex;
  const char *layerName;
  void *buffer;
  int isInput;
} NvDsInferLayerInfo;

typedef struct {
  unsigned int width;
  unsigned int height;
  unsigned int channels;
} NvDsInferNetworkInfo;

typedef struct {
  unsigned int classId;
  float left;
  float top;
  float width;
  float height;
  float detectionConfidence;
#if TAOSTREAM_DS_ROTATION_ANGLE
  float rotation_angle;
#endif
} NvDsInferObjectDetectionInfo;

typedef NvDsInferObjectDetectionInfo NvDsInferParseObjectInfo;

typedef struct {
  unsigned int classId;
  float left;
  float top;
  float width;
  float height;
  float detectionConfidence;
  float *mask;             /* allocated with new[]; nvinfer releases it with delete[] */
  unsigned int mask_width;
  unsigned int mask_height;
  unsigned int mask_size;  /* bytes */
} NvDsInferInstanceMaskInfo;

typedef struct {
  unsigned int attributeIndex;
  unsigned int attributeValue;
  float attributeConfidence;
  char *attributeLabel;
} NvDsInferAttribute;

typedef struct NvDsInferParseDetectionParams_ {  /* tag: a C++ member needs a linkage name */
  unsigned int numClassesConfigured;
  std::vector<float> perClassPreclusterThreshold;
  std::vector<float> perClassPostclusterThreshold;
  std::vector<float> &perClassThreshold = perClassPreclusterThreshold;
} NvDsInferParseDetectionParams;

typedef bool (*NvDsInferParseCustomFunc)(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                         NvDsInferNetworkInfo const &networkInfo,
                                         NvDsInferParseDetectionParams const &detectionParams,
                                         std::vector<NvDsInferObjectDetectionInfo> &objectList);

typedef bool (*NvDsInferInstanceMaskParseCustomFunc)(
    std::vector<NvDsInferLayerInfo> const &outputLayersInfo, NvDsInferNetworkInfo const &networkInfo,
    NvDsInferParseDetectionParams const &detectionParams,
    std::vector<NvDsInferInstanceMaskInfo> &objectList);

typedef bool (*NvDsInferClassiferParseCustomFunc)(
    std::vector<NvDsInferLayerInfo> const &outputLayersInfo, NvDsInferNetworkInfo const &networkInfo,
    float classifierThreshold, std::vector<NvDsInferAttribute> &attrList, std::string &descString);

}  // extern "C"

#endif  // TAOSTREAM_HAVE_DEEPSTREAM_HEADERS
#endif  // TAOSTREAM_NVDSINFER_ABI_H
