# The module DAG of DESIGN.md, checked when the build is configured: a violation stops cmake.
#
#   coordinator (tpserve_coordinator_lib, tpserve-coordinator)  links no tpserve_ops_* target
#   every target under ops/, shard/, vision/, model/             links no gRPC
#   model (tpserve_model)                                         links no tpserve_ops_* target
#
# tests/build/module_dag_test also checks the linked coordinator binary itself (no ops symbols).

# All libraries `target` links, directly or through other targets (LINK_LIBRARIES and
# INTERFACE_LINK_LIBRARIES, recursively), into the variable `out`.
function(tpserve_transitive_links target out)
  set(seen)
  set(todo ${target})
  while(todo)
    list(POP_FRONT todo t)
    if(NOT TARGET ${t})
      continue()
    endif()
    get_target_property(aliased ${t} ALIASED_TARGET)
    if(aliased)
      set(t ${aliased})
    endif()
    get_target_property(type ${t} TYPE)
    set(libs)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(direct ${t} LINK_LIBRARIES)
      if(direct)
        list(APPEND libs ${direct})
      endif()
    endif()
    get_target_property(iface ${t} INTERFACE_LINK_LIBRARIES)
    if(iface)
      list(APPEND libs ${iface})
    endif()
    foreach(l ${libs})
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" l "${l}")
      if(l MATCHES "^\\$<" OR l IN_LIST seen)
        continue()
      endif()
      list(APPEND seen ${l})
      list(APPEND todo ${l})
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# Fails when `target` reaches a library whose name matches `pattern`.
function(tpserve_forbid_links target pattern why)
  if(NOT TARGET ${target})
    return()
  endif()
  tpserve_transitive_links(${target} links)
  foreach(l ${links})
    if(l MATCHES "${pattern}")
      message(FATAL_ERROR "module DAG violated: ${target} links ${l} (${why})")
    endif()
  endforeach()
endfunction()

function(tpserve_check_module_dag)
  foreach(t tpserve_coordinator_lib tpserve-coordinator tpserve_tokenizer tpserve_model
            tpserve_vision_core)
    tpserve_forbid_links(${t} "^tpserve_ops_" "no device code outside workers")
  endforeach()
  foreach(dir ops ops/cpu ops/comm shard vision model)
    get_property(targets DIRECTORY ${PROJECT_SOURCE_DIR}/${dir} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(t ${targets})
      tpserve_forbid_links(${t} "^gRPC::|grpc" "ops, shard, vision and model know no network")
    endforeach()
  endforeach()
endfunction()
