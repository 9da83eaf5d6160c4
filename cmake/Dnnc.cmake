# Dnnc.cmake — compile .dnn models with dnnc from CMake.
#
#   dnnc_add_model(TARGET MODEL.dnn [INFERENCE] [EMBED_WEIGHTS FILE] [BATCH N]
#                  [MAIN] [OPTIONS flag...])
#
# runs dnnc on MODEL.dnn into ${CMAKE_CURRENT_BINARY_DIR}/NAME.c and NAME.h
# (NAME: the model file's name without .dnn) whenever the model, the weights
# file or dnnc itself changes, and makes TARGET a STATIC library of NAME.c
# that carries the include directories of NAME.h and of the runtime headers
# and links the runtime, Dnnc::dnnrt. With MAIN, TARGET is the model's
# training program instead (dnnc --main): an executable linked with the
# runtime and zlib. INFERENCE, EMBED_WEIGHTS and BATCH are dnnc's
# --inference, --embed-weights and --batch; OPTIONS passes any other flags
# (for example --optimize=size or -Werror).
#
# Two ways in:
#   find_package(Dnnc REQUIRED)       after `make install` (DnncConfig.cmake
#                                     defines Dnnc::dnnc and Dnnc::dnnrt, then
#                                     includes this file);
#   include(/path/to/dnnc/cmake/Dnnc.cmake)   from a built source tree.
# From a source tree these variables say where things are (all optional):
#   DNNC_EXECUTABLE   the compiler (default: <tree>/build/dnnc, then dnnc on PATH)
#   DNNC_RUNTIME_DIR  the runtime: a directory with its sources (default
#                     <tree>/runtime: CMake builds them as the static library
#                     dnnc_runtime, alias Dnnc::dnnrt, with zlib, and its
#                     freestanding core alone as dnnc_runtime_core, alias
#                     Dnnc::dnnrt_core) or one with a built libdnnrt.a
#                     (<tree>/build: used as it is, with libdnnrt_core.a
#                     beside it, headers from DNNC_INCLUDE_DIR, default
#                     <tree>/runtime).
# dnnc's -MD/-MF dependency files feed add_custom_command(DEPFILE) when the
# CMake version and generator support it (3.20+, Ninja or Makefiles) and the
# dnnc found accepts -MD; the explicit DEPENDS make it work either way.
#
# The settings above are read when dnnc_add_model() is called, so include
# this file (or call find_package) in the directory that calls it or in a
# parent directory.
include_guard(DIRECTORY)
if(POLICY CMP0116)          # DEPFILE paths as CMake 3.20+ reads them (dnnc's are absolute)
    cmake_policy(SET CMP0116 NEW)  # recorded by dnnc_add_model(); include() scopes it to this file
endif()

# <tree> when this file sits in a dnnc source tree (cmake/ beside runtime/).
get_filename_component(_dnnc_tree "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(NOT EXISTS "${_dnnc_tree}/runtime/dnn.h")
    set(_dnnc_tree "")
endif()

if(NOT DNNC_EXECUTABLE)
    if(TARGET Dnnc::dnnc)
        get_target_property(DNNC_EXECUTABLE Dnnc::dnnc IMPORTED_LOCATION)
    elseif(_dnnc_tree AND EXISTS "${_dnnc_tree}/build/dnnc")
        set(DNNC_EXECUTABLE "${_dnnc_tree}/build/dnnc")
    else()
        find_program(DNNC_EXECUTABLE dnnc)
    endif()
endif()
if(NOT DNNC_EXECUTABLE OR NOT EXISTS "${DNNC_EXECUTABLE}")
    message(FATAL_ERROR "Dnnc.cmake: no dnnc compiler (run `make` in the dnnc tree, "
                        "or set DNNC_EXECUTABLE)")
endif()
get_filename_component(DNNC_EXECUTABLE "${DNNC_EXECUTABLE}" ABSOLUTE)

# Does this dnnc write dependency files (-MD -MF)? Its --help says.
execute_process(COMMAND "${DNNC_EXECUTABLE}" --help
                OUTPUT_VARIABLE _dnnc_help ERROR_QUIET RESULT_VARIABLE _dnnc_rc)
set(_DNNC_HAS_MD FALSE)
if(_dnnc_rc EQUAL 0 AND _dnnc_help MATCHES "(^|[\n ])-MD[ \n]" AND _dnnc_help MATCHES "-MF")
    set(_DNNC_HAS_MD TRUE)
endif()

# Dnnc::dnnrt: from the installed package, else from the source tree.
function(_dnnc_runtime_target)
    if(TARGET Dnnc::dnnrt)
        return()
    endif()
    set(dir "${DNNC_RUNTIME_DIR}")
    if(NOT dir)
        if(NOT _dnnc_tree)
            message(FATAL_ERROR "Dnnc.cmake: no runtime; use find_package(Dnnc) or set DNNC_RUNTIME_DIR")
        endif()
        set(dir "${_dnnc_tree}/runtime")
    endif()
    get_filename_component(dir "${dir}" ABSOLUTE)
    if(EXISTS "${dir}/dnn.h" AND IS_DIRECTORY "${dir}/core")   # the sources: build them here
        file(GLOB core_srcs "${dir}/core/*.c")
        file(GLOB srcs "${dir}/*/*.c")
        list(SORT core_srcs)
        list(SORT srcs)
        list(REMOVE_ITEM srcs ${core_srcs})
        find_package(ZLIB REQUIRED)         # the data readers read gzip files
        add_library(dnnc_runtime_core STATIC ${core_srcs})
        add_library(dnnc_runtime STATIC ${srcs})
        foreach(lib dnnc_runtime_core dnnc_runtime)
            set_target_properties(${lib} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
            target_compile_definitions(${lib} PRIVATE _POSIX_C_SOURCE=200809L)
            target_include_directories(${lib} PUBLIC "${dir}")
        endforeach()
        set_target_properties(dnnc_runtime_core PROPERTIES OUTPUT_NAME dnnrt_core)
        set_target_properties(dnnc_runtime PROPERTIES OUTPUT_NAME dnnrt)
        # the whole runtime is the rest on top of the core
        target_link_libraries(dnnc_runtime PUBLIC dnnc_runtime_core ZLIB::ZLIB)
        if(NOT WIN32)
            target_link_libraries(dnnc_runtime_core PUBLIC m)
        endif()
        add_library(Dnnc::dnnrt_core ALIAS dnnc_runtime_core)
        add_library(Dnnc::dnnrt ALIAS dnnc_runtime)
    elseif(EXISTS "${dir}/libdnnrt.a")      # a built library (the tree's build/)
        set(inc "${DNNC_INCLUDE_DIR}")
        if(NOT inc)
            if(EXISTS "${dir}/dnn.h")
                set(inc "${dir}")
            elseif(_dnnc_tree)
                set(inc "${_dnnc_tree}/runtime")
            else()
                message(FATAL_ERROR "Dnnc.cmake: set DNNC_INCLUDE_DIR to the runtime headers")
            endif()
        endif()
        find_package(ZLIB QUIET)
        set(libs "")
        if(ZLIB_FOUND)
            list(APPEND libs ZLIB::ZLIB)
        else()
            list(APPEND libs z)
        endif()
        if(NOT WIN32)
            list(APPEND libs m)
        endif()
        add_library(Dnnc::dnnrt STATIC IMPORTED GLOBAL)
        set_target_properties(Dnnc::dnnrt PROPERTIES
            IMPORTED_LOCATION "${dir}/libdnnrt.a"
            INTERFACE_INCLUDE_DIRECTORIES "${inc}"
            INTERFACE_LINK_LIBRARIES "${libs}")
        if(EXISTS "${dir}/libdnnrt_core.a")
            add_library(Dnnc::dnnrt_core STATIC IMPORTED GLOBAL)
            set_target_properties(Dnnc::dnnrt_core PROPERTIES
                IMPORTED_LOCATION "${dir}/libdnnrt_core.a"
                INTERFACE_INCLUDE_DIRECTORIES "${inc}")
            if(NOT WIN32)
                set_target_properties(Dnnc::dnnrt_core PROPERTIES INTERFACE_LINK_LIBRARIES m)
            endif()
        endif()
    else()
        message(FATAL_ERROR "Dnnc.cmake: DNNC_RUNTIME_DIR '${dir}' holds neither the runtime "
                            "sources (dnn.h, core/) nor libdnnrt.a")
    endif()
endfunction()

function(dnnc_add_model target model)
    cmake_parse_arguments(PARSE_ARGV 2 arg "INFERENCE;MAIN" "EMBED_WEIGHTS;BATCH" "OPTIONS")
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "dnnc_add_model(${target}): unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
    endif()
    if(arg_MAIN AND arg_INFERENCE)
        message(FATAL_ERROR "dnnc_add_model(${target}): MAIN needs the training code; drop INFERENCE")
    endif()
    _dnnc_runtime_target()

    get_filename_component(model "${model}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    get_filename_component(name "${model}" NAME_WE)
    set(out_c "${CMAKE_CURRENT_BINARY_DIR}/${name}.c")
    set(out_h "${CMAKE_CURRENT_BINARY_DIR}/${name}.h")

    set(flags ${arg_OPTIONS})
    set(deps "${model}" "${DNNC_EXECUTABLE}")
    if(arg_INFERENCE)
        list(APPEND flags --inference)
    endif()
    if(arg_MAIN)
        list(APPEND flags --main)
    endif()
    if(arg_BATCH)
        list(APPEND flags --batch "${arg_BATCH}")
    endif()
    if(arg_EMBED_WEIGHTS)
        get_filename_component(weights "${arg_EMBED_WEIGHTS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
        list(APPEND flags --embed-weights "${weights}")
        list(APPEND deps "${weights}")
    endif()

    set(depfile_args "")
    if(_DNNC_HAS_MD AND CMAKE_VERSION VERSION_GREATER_EQUAL 3.20
       AND CMAKE_GENERATOR MATCHES "Ninja|Makefiles")
        set(depfile "${CMAKE_CURRENT_BINARY_DIR}/${name}.d")
        list(APPEND flags -MD -MF "${depfile}" -MT "${out_c}")
        set(depfile_args DEPFILE "${depfile}")
    endif()

    add_custom_command(
        OUTPUT "${out_c}" "${out_h}"
        COMMAND "${DNNC_EXECUTABLE}" ${flags} "${model}" -o "${out_c}" --header "${out_h}"
        DEPENDS ${deps}
        ${depfile_args}
        COMMENT "dnnc ${name}.dnn -> ${name}.c ${name}.h"
        VERBATIM)

    if(arg_MAIN)
        add_executable(${target} "${out_c}")
        target_link_libraries(${target} PRIVATE Dnnc::dnnrt)
        if(TARGET ZLIB::ZLIB)
            target_link_libraries(${target} PRIVATE ZLIB::ZLIB)
        else()
            target_link_libraries(${target} PRIVATE z)
        endif()
    else()
        add_library(${target} STATIC "${out_c}" "${out_h}")
        target_link_libraries(${target} PUBLIC Dnnc::dnnrt)
    endif()
    target_include_directories(${target} PUBLIC "${CMAKE_CURRENT_BINARY_DIR}")
    set_target_properties(${target} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON)
    set_property(TARGET ${target} PROPERTY DNNC_MODEL "${model}")
    set_property(TARGET ${target} PROPERTY DNNC_HEADER "${out_h}")
endfunction()
